package sealed_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/leadledger/leadledger/adapters/sealed"
)

func skipOnWindows(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
}

func TestLoadOrCreateKeyFileCreates(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "master.key")
	key, created, err := sealed.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(key) != sealed.KeySize {
		t.Fatalf("LoadOrCreateKeyFile = %d bytes, created %v, %v; want a new 32-byte key", len(key), created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode(); mode != 0o600 {
		t.Errorf("key file mode %v, want -rw-------", mode)
	}
	dinfo, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := dinfo.Mode().Perm(); mode != 0o700 {
		t.Errorf("key directory mode %04o, want 0700", mode)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err := sealed.ParseKey(string(text)); err != nil || !bytes.Equal(parsed, key) {
		t.Errorf("key file holds %v, %v; want the returned key in ParseKey format", parsed, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the key file alone (no temporary file left)", len(entries))
	}
	if bytes.Equal(key, make([]byte, sealed.KeySize)) {
		t.Error("key is all zeros")
	}

	again, created, err := sealed.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Errorf("second LoadOrCreateKeyFile = created %v, %v, same key %v; want the same key, not created", created, err, bytes.Equal(again, key))
	}
}

func TestLoadOrCreateKeyFileReusesExisting(t *testing.T) {
	skipOnWindows(t)
	path := filepath.Join(t.TempDir(), "master.key")
	want := testKey(5)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, created, err := sealed.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(key, want) {
		t.Errorf("LoadOrCreateKeyFile = %x, created %v, %v; want the file's key", key, created, err)
	}
	// 0400 is fine too: only the owner can read it.
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sealed.LoadOrCreateKeyFile(path); err != nil {
		t.Errorf("0400 key file: %v", err)
	}
}

func TestLoadOrCreateKeyFileRefusesOpenModes(t *testing.T) {
	skipOnWindows(t)
	key := testKey(6)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
			t.Fatal(err)
		}
		got, created, err := sealed.LoadOrCreateKeyFile(path)
		if err == nil || got != nil || created {
			t.Errorf("mode %04o: LoadOrCreateKeyFile = %d bytes, created %v, %v; want a refusal", mode, len(got), created, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("%04o", mode)) {
			t.Errorf("mode %04o: error %q does not name the path and the mode", mode, msg)
		}
		if containsKey(msg, key) {
			t.Errorf("mode %04o: error %q shows the key", mode, msg)
		}
		// The refused file is left as it was: it may hold the key to everything sealed.
		if text, _ := os.ReadFile(path); string(text) != hex.EncodeToString(key) {
			t.Errorf("mode %04o: the refused key file was changed", mode)
		}
	}
}

func TestLoadOrCreateKeyFileRefusesBadFiles(t *testing.T) {
	skipOnWindows(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for name, c := range map[string]struct {
		path string
		want error
	}{
		"empty":      {write("empty.key", ""), sealed.ErrInvalidKey},
		"31 bytes":   {write("short.key", hex.EncodeToString(testKey(1)[:31])), sealed.ErrInvalidKey},
		"not a key":  {write("text.key", "hello"), sealed.ErrInvalidKey},
		"huge":       {write("huge.key", strings.Repeat("A", 1<<20)), sealed.ErrInvalidKey},
		"directory":  {dir, nil},
		"no path":    {"", nil},
		"unreadable": {write("unreadable.key", hex.EncodeToString(testKey(1))), fs.ErrPermission},
	} {
		if name == "unreadable" {
			if os.Geteuid() == 0 {
				continue // root reads anything
			}
			if err := os.Chmod(c.path, 0o200); err != nil {
				t.Fatal(err)
			}
		}
		key, created, err := sealed.LoadOrCreateKeyFile(c.path)
		if err == nil || key != nil || created {
			t.Errorf("%s: LoadOrCreateKeyFile = %d bytes, created %v, %v; want an error", name, len(key), created, err)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
		if !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q does not name the path", name, err)
		}
	}
}

func TestLoadOrCreateKeyFileRace(t *testing.T) {
	skipOnWindows(t)
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "master.key")
		const n = 8
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			keys    [n][]byte
			created [n]bool
			errs    [n]error
		)
		for i := range n {
			wg.Go(func() {
				<-start
				keys[i], created[i], errs[i] = sealed.LoadOrCreateKeyFile(path)
			})
		}
		close(start)
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: callers ended with different keys", round)
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Errorf("round %d: %d callers say they created the key file, want 1", round, creators)
		}
		onDisk, _, err := sealed.LoadOrCreateKeyFile(path)
		if err != nil || !bytes.Equal(onDisk, keys[0]) {
			t.Fatalf("round %d: the file holds another key than the callers got (%v)", round, err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("round %d: %d entries beside the key file's directory, want the key file alone", round, len(entries))
		}
	}
}
