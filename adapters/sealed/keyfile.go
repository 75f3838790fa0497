package sealed

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFile bounds what LoadOrCreateKeyFile reads: a key is 64 characters at most, and a
// path pointed at some large file should fail fast, not be read whole.
const maxKeyFile = 4 << 10

// LoadOrCreateKeyFile returns the master key in the file at path (in a format ParseKey reads).
// If there is no file it creates one holding 32 random bytes in base64, mode 0600, creating
// its directory with mode 0700 if need be, and reports created. It refuses a key file that
// group or others may read or write.
//
// Creation is atomic and exclusive: the key is written and synced to a temporary file that is
// then hard-linked into place, which fails if the path exists. So two processes starting at
// once agree on one key (the loser reads the winner's), and no reader, nor a restart after a
// crash, ever sees a half-written key file.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("key file: no path given")
	}
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = createKeyFile(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use its key, not ours.
		key, err = readKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// readKeyFile reads and parses a key file after checking that only its owner may use it.
// Its error wraps fs.ErrNotExist when there is no file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file (%s)", path, info.Mode())
	}
	// Windows has no such mode bits (Go reports 0666 for every writable file).
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("key file %s has mode %04o: group or others may read or replace the master key; chmod 600 it", path, perm)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(text) > maxKeyFile {
		return nil, fmt.Errorf("key file %s: %w: longer than %d bytes", path, ErrInvalidKey, maxKeyFile)
	}
	key, err := ParseKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key at path, failing with an error that wraps
// fs.ErrExist if a file is already there.
func createKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key file directory: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key) // never fails: crypto/rand crashes the program rather than return an error
	if err := writeKeyFile(path, key, false); err != nil {
		return nil, err
	}
	return key, nil
}

// writeKeyFile writes key at path, whose directory must exist. Unless replace is set, path
// must not exist yet (the error then wraps fs.ErrExist); with it, a file there is replaced
// atomically: a reader sees the old key or the new one, never a part.
func writeKeyFile(path string, key []byte, replace bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // on failure; on success it is gone already
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		// Synced before it is linked into place: a key file that vanished or came back
		// empty after a power cut would leave every secret sealed with it unreadable.
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if replace {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("replace key file: %w", err)
		}
	} else {
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("create key file: %w", err)
		}
		// Dropped before the directory is synced, so that no second copy of the key
		// outlives a crash under the temporary name.
		if err := os.Remove(tmp.Name()); err != nil {
			return fmt.Errorf("create key file: remove temporary file: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("create key file: sync directory: %w", err)
	}
	return nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
