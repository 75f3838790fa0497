package sealed

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
)

// PreviousKeyFile is where RotateKeyFile keeps the key it replaced: beside the key file, with
// ".previous" appended. A keyring built from a key file also opens with the key found there,
// until the rotation is over and the file is deleted.
func PreviousKeyFile(path string) string { return path + ".previous" }

// LoadKeyFile reads the key file at path, refusing it as LoadOrCreateKeyFile does, and never
// creates one: its error wraps fs.ErrNotExist when there is no file.
func LoadKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("key file: no path given")
	}
	return readKeyFile(path)
}

// ErrRotationUnderway is RotateKeyFile refusing to start a rotation before the last one ended.
var ErrRotationUnderway = errors.New("a master key rotation is under way")

// RotateKeyFile starts a rotation of the master key kept in the file at path: the key there is
// kept in PreviousKeyFile(path), then a new random key replaces it. It returns both keys.
//
// It can be run again after a crash: the previous key is written (and synced) before the key
// file is replaced, so a crash leaves either both files holding the old key, which a second
// run takes up, or the rotation done. It refuses, with ErrRotationUnderway, when a previous
// key file holds another key: the values sealed under that key may not all be re-sealed yet.
func RotateKeyFile(path string) (previous, current []byte, err error) {
	previous, err = LoadKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	prevPath := PreviousKeyFile(path)
	kept, err := readKeyFile(prevPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeKeyFile(prevPath, previous, false); err != nil {
			return nil, nil, fmt.Errorf("keep the previous key in %s: %w", prevPath, err)
		}
	case err != nil:
		return nil, nil, err
	case !bytes.Equal(kept, previous):
		return nil, nil, fmt.Errorf("%w: %s holds the key the current one replaced; re-seal with leadledger rotate-key, then delete that file before rotating again",
			ErrRotationUnderway, prevPath)
	}
	current = make([]byte, KeySize)
	rand.Read(current) // never fails: crypto/rand crashes the program rather than return an error
	if err := writeKeyFile(path, current, true); err != nil {
		return nil, nil, err
	}
	return previous, current, nil
}
