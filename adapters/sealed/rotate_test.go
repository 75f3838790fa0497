package sealed_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadledger/leadledger/adapters/sealed"
)

func TestReseal(t *testing.T) {
	old, next := testKey(1), testKey(2)
	s := seal(t, newKeyring(t, old), secret, context)
	during := newKeyring(t, next, old)
	resealed, changed, err := during.Reseal(s, context)
	if err != nil || !changed || sealed.SealedWith(resealed) != during.KeyID() {
		t.Fatalf("Reseal = %v, %v; want it under the current key", changed, err)
	}
	if got, err := newKeyring(t, next).Open(resealed, context); err != nil || got != secret {
		t.Errorf("the new key alone opens %q, %v", got, err)
	}
	if again, changed, err := during.Reseal(resealed, context); err != nil || changed || again != resealed {
		t.Errorf("a second Reseal = changed %v, %v; want the text as it is", changed, err)
	}
	if _, _, err := newKeyring(t, next).Reseal(s, context); !errors.Is(err, sealed.ErrUnknownKey) {
		t.Errorf("Reseal without the old key: %v, want ErrUnknownKey", err)
	}
	if _, _, err := during.Reseal(s, "sink:9:secret"); !errors.Is(err, sealed.ErrWrongContext) {
		t.Errorf("Reseal with another context: %v, want ErrWrongContext", err)
	}
	if _, _, err := during.Reseal(secret, context); !errors.Is(err, sealed.ErrNotSealed) {
		t.Errorf("Reseal of a plaintext: %v, want ErrNotSealed", err)
	}
	if !during.Holds(newKeyring(t, old).KeyID()) || during.Holds(newKeyring(t, testKey(3)).KeyID()) {
		t.Error("Holds does not tell the keys held")
	}
}

func TestRotateKeyFile(t *testing.T) {
	skipOnWindows(t)
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := sealed.LoadKeyFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKeyFile of no file: %v, want ErrNotExist", err)
	}
	if _, _, err := sealed.RotateKeyFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("RotateKeyFile of no file: %v, want ErrNotExist", err)
	}
	first, _, err := sealed.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	previous, current, err := sealed.RotateKeyFile(path)
	if err != nil || !bytes.Equal(previous, first) || bytes.Equal(current, first) || len(current) != sealed.KeySize {
		t.Fatalf("RotateKeyFile = %v; want the old key kept and a new one", err)
	}
	for p, want := range map[string][]byte{path: current, sealed.PreviousKeyFile(path): first} {
		got, err := sealed.LoadKeyFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, right key %v", p, err, bytes.Equal(got, want))
		}
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", p, info.Mode(), err)
		}
	}
	// A second rotation before the first ended would lose the oldest key.
	if _, _, err := sealed.RotateKeyFile(path); !errors.Is(err, sealed.ErrRotationUnderway) {
		t.Errorf("a second rotation: %v, want ErrRotationUnderway", err)
	}
	if got, _ := sealed.LoadKeyFile(path); !bytes.Equal(got, current) {
		t.Error("the refused rotation changed the key file")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Errorf("the directory holds %d entries, want the key and its previous one", len(entries))
	}

	// A crash after the previous key was written and before the new one: a second run goes on.
	if err := os.Remove(sealed.PreviousKeyFile(path)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sealed.PreviousKeyFile(path), mustRead(t, path), 0o600); err != nil {
		t.Fatal(err)
	}
	previous, next, err := sealed.RotateKeyFile(path)
	if err != nil || !bytes.Equal(previous, current) || bytes.Equal(next, current) {
		t.Errorf("a run after a crash half-way: %v; want the rotation done", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
