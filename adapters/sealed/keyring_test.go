package sealed_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/leadledger/leadledger/adapters/sealed"
)

const (
	secret  = "crm-token-Zx81-very-secret"
	context = "sink:7:secret"
)

// testKey returns a distinct 32-byte key for each fill byte.
func testKey(fill byte) []byte { return bytes.Repeat([]byte{fill}, sealed.KeySize) }

func newKeyring(t *testing.T, current []byte, older ...[]byte) *sealed.Keyring {
	t.Helper()
	k, err := sealed.NewKeyring(current, older...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t *testing.T, k *sealed.Keyring, plaintext, context string) string {
	t.Helper()
	s, err := k.Seal(plaintext, context)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	k := newKeyring(t, testKey(1))
	for _, plaintext := range []string{secret, "", "ünïcödé ✓", strings.Repeat("x", 10000)} {
		s := seal(t, k, plaintext, context)
		if !sealed.IsSealed(s) || sealed.SealedWith(s) != k.KeyID() {
			t.Errorf("sealed text %q: IsSealed %v, SealedWith %q, want true, %q", s, sealed.IsSealed(s), sealed.SealedWith(s), k.KeyID())
		}
		if strings.Contains(s, plaintext) && plaintext != "" {
			t.Errorf("sealed text contains its plaintext")
		}
		got, err := k.Open(s, context)
		if err != nil || got != plaintext {
			t.Errorf("Open = %q, %v; want the plaintext", got, err)
		}
		if k.NeedsReseal(s) {
			t.Errorf("NeedsReseal of a text sealed with the current key = true")
		}
	}
}

func TestFormat(t *testing.T) {
	k := newKeyring(t, testKey(1))
	s := seal(t, k, secret, context)
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != "sealed" || parts[1] != "v1" || parts[2] != k.KeyID() {
		t.Fatalf("sealed text %q is not sealed:v1:<key id>:<payload>", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		t.Fatalf("payload is not unpadded base64url: %v", err)
	}
	// 4-byte context tag, 12-byte nonce, ciphertext, 16-byte GCM tag.
	if want := 4 + 12 + len(secret) + 16; len(raw) != want {
		t.Errorf("payload is %d bytes, want %d", len(raw), want)
	}
	if id := k.KeyID(); len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("KeyID %q is not 16 lowercase hex digits", id)
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	k := newKeyring(t, testKey(1))
	seen := map[string]bool{}
	for range 100 {
		s := seal(t, k, secret, context)
		if seen[s] {
			t.Fatal("two seals of the same plaintext are equal")
		}
		seen[s] = true
	}
}

func TestSealRefusesSealedText(t *testing.T) {
	k := newKeyring(t, testKey(1))
	s := seal(t, k, secret, context)
	if _, err := k.Seal(s, context); !errors.Is(err, sealed.ErrAlreadySealed) {
		t.Errorf("sealing a sealed text: err = %v, want ErrAlreadySealed", err)
	}
}

func TestWrongContext(t *testing.T) {
	k := newKeyring(t, testKey(1))
	s := seal(t, k, secret, "sink:7:secret")
	for _, other := range []string{"sink:8:secret", "sink:7:client_secret", "", "sink:7:secret "} {
		_, err := k.Open(s, other)
		if !errors.Is(err, sealed.ErrWrongContext) {
			t.Errorf("Open with context %q: err = %v, want ErrWrongContext", other, err)
		}
		if errors.Is(err, sealed.ErrTampered) {
			t.Errorf("Open with context %q: err = %v is also ErrTampered", other, err)
		}
	}
}

func TestTamperedFails(t *testing.T) {
	k := newKeyring(t, testKey(1))
	s := seal(t, k, secret, context)
	prefix := s[:strings.LastIndex(s, ":")+1]
	raw, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		changed := bytes.Clone(raw)
		changed[i] ^= 0x01
		_, err := k.Open(prefix+base64.RawURLEncoding.EncodeToString(changed), context)
		if i < 4 {
			// A changed context tag must not pass for the caller's mistake when the
			// ciphertext itself authenticates.
			if !errors.Is(err, sealed.ErrTampered) {
				t.Errorf("context tag byte %d flipped: err = %v, want ErrTampered", i, err)
			}
			continue
		}
		if !errors.Is(err, sealed.ErrTampered) {
			t.Errorf("byte %d flipped: err = %v, want ErrTampered", i, err)
		}
	}
	// Cut short, or grown.
	for _, changed := range [][]byte{raw[:len(raw)-1], append(bytes.Clone(raw), 0)} {
		if _, err := k.Open(prefix+base64.RawURLEncoding.EncodeToString(changed), context); !errors.Is(err, sealed.ErrTampered) {
			t.Errorf("payload of %d bytes instead of %d: err = %v, want ErrTampered", len(changed), len(raw), err)
		}
	}
}

func TestRewrittenKeyIDFails(t *testing.T) {
	// A text whose header is rewritten to name another key the keyring holds must not
	// open, and must read as altered, not as a wrong context.
	a, b := testKey(1), testKey(2)
	k := newKeyring(t, a, b)
	s := seal(t, k, secret, context)
	kb := newKeyring(t, b)
	moved := strings.Replace(s, k.KeyID(), kb.KeyID(), 1)
	if _, err := k.Open(moved, context); !errors.Is(err, sealed.ErrTampered) {
		t.Errorf("Open after rewriting the key id: err = %v, want ErrTampered", err)
	}
}

func TestUnknownKey(t *testing.T) {
	s := seal(t, newKeyring(t, testKey(1)), secret, context)
	other := newKeyring(t, testKey(2))
	_, err := other.Open(s, context)
	if !errors.Is(err, sealed.ErrUnknownKey) {
		t.Fatalf("Open with another keyring: err = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), sealed.SealedWith(s)) || !strings.Contains(err.Error(), other.KeyID()) {
		t.Errorf("error %q does not name the key id sealed with and the ids held", err)
	}
	if !other.NeedsReseal(s) {
		t.Error("NeedsReseal of a text sealed with an unknown key = false")
	}
}

func TestMalformed(t *testing.T) {
	k := newKeyring(t, testKey(1))
	id := k.KeyID()
	for _, c := range []struct {
		name, text string
		want       error
	}{
		{"plaintext", secret, sealed.ErrNotSealed},
		{"empty", "", sealed.ErrNotSealed},
		{"newer version", "sealed:v2:" + id + ":AAAA", sealed.ErrMalformed},
		{"no key id", "sealed:v1:", sealed.ErrMalformed},
		{"short key id", "sealed:v1:abc:AAAA", sealed.ErrMalformed},
		{"uppercase key id", "sealed:v1:" + strings.ToUpper(id) + ":AAAA", sealed.ErrMalformed},
		{"bad base64", "sealed:v1:" + id + ":not*base64!", sealed.ErrMalformed},
		{"padded base64", "sealed:v1:" + id + ":" + base64.URLEncoding.EncodeToString(make([]byte, 40)), sealed.ErrMalformed},
		{"standard alphabet", "sealed:v1:" + id + ":" + strings.Repeat("+/", 30), sealed.ErrMalformed},
		{"too short", "sealed:v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(make([]byte, 31)), sealed.ErrMalformed},
	} {
		_, err := k.Open(c.text, context)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestOlderKeyOpensAndNeedsReseal(t *testing.T) {
	old, next := testKey(1), testKey(2)
	before := newKeyring(t, old)
	s := seal(t, before, secret, context)

	during := newKeyring(t, next, old)
	if during.KeyID() == before.KeyID() {
		t.Fatal("two keys share a key id")
	}
	got, err := during.Open(s, context)
	if err != nil || got != secret {
		t.Fatalf("Open with the older key = %q, %v; want the plaintext", got, err)
	}
	if !during.NeedsReseal(s) {
		t.Error("NeedsReseal of a text sealed with an older key = false")
	}
	resealed := seal(t, during, got, context)
	if during.NeedsReseal(resealed) || sealed.SealedWith(resealed) != during.KeyID() {
		t.Error("a resealed text still needs resealing")
	}
	after := newKeyring(t, next)
	if got, err := after.Open(resealed, context); err != nil || got != secret {
		t.Errorf("Open after the rotation = %q, %v; want the plaintext", got, err)
	}
	if got := during.KeyIDs(); len(got) != 2 || got[0] != during.KeyID() || got[1] != before.KeyID() {
		t.Errorf("KeyIDs = %v, want current then older", got)
	}
}

func TestNeedsResealPlaintext(t *testing.T) {
	k := newKeyring(t, testKey(1))
	for _, s := range []string{secret, "", "sealed:v2:whatever"} {
		if !k.NeedsReseal(s) {
			t.Errorf("NeedsReseal(%q) = false", s)
		}
	}
}

func TestSealedWith(t *testing.T) {
	for _, s := range []string{secret, "", "sealed:", "sealed:v1:zz:AAAA", "sealed:v2:0123456789abcdef:AAAA"} {
		if got := sealed.SealedWith(s); got != "" {
			t.Errorf("SealedWith(%q) = %q, want \"\"", s, got)
		}
	}
	if got := sealed.SealedWith("sealed:v1:0123456789abcdef:AAAA"); got != "0123456789abcdef" {
		t.Errorf("SealedWith = %q, want the key id", got)
	}
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	for _, c := range []struct {
		name          string
		current       []byte
		older         [][]byte
		wantInMessage string
	}{
		{"nil current", nil, nil, "current key is 0 bytes"},
		{"short current", testKey(1)[:31], nil, "current key is 31 bytes"},
		{"long current", append(testKey(1), 1), nil, "current key is 33 bytes"},
		{"short older", testKey(1), [][]byte{testKey(2), testKey(3)[:16]}, "older key 2 is 16 bytes"},
	} {
		_, err := sealed.NewKeyring(c.current, c.older...)
		if !errors.Is(err, sealed.ErrInvalidKey) || !strings.Contains(fmt.Sprint(err), c.wantInMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidKey saying %q", c.name, err, c.wantInMessage)
		}
	}
	// The same key twice (say, a rotation's old and new key set alike) is held once.
	k := newKeyring(t, testKey(1), testKey(1), testKey(2), testKey(2))
	if n := len(k.KeyIDs()); n != 2 {
		t.Errorf("keyring holds %d keys, want 2", n)
	}
}

func TestKeyringDoesNotPrintKeys(t *testing.T) {
	key := testKey(0xab)
	k := newKeyring(t, key)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if !strings.Contains(out, k.KeyID()) || containsKey(out, key) {
			t.Errorf("Sprintf(%s) = %q: want the key id and no key", verb, out)
		}
	}
}

// containsKey reports whether out shows key in any encoding a careless print would use.
func containsKey(out string, key []byte) bool {
	for _, enc := range []string{
		string(key),
		hex.EncodeToString(key),
		base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
		fmt.Sprint(key),
		fmt.Sprintf("%x", key[:8]),
	} {
		if strings.Contains(out, enc) {
			return true
		}
	}
	return false
}

func TestErrorsShowNoSecret(t *testing.T) {
	key := testKey(0xcd)
	k := newKeyring(t, key)
	s := seal(t, k, secret, context)
	prefix := s[:strings.LastIndex(s, ":")+1]
	raw, _ := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	raw[len(raw)-1] ^= 1
	var errs []error
	for _, text := range []string{
		prefix + base64.RawURLEncoding.EncodeToString(raw), // tampered
		s[:len(s)-3] + "*!*", // bad base64
		secret,               // not sealed
	} {
		_, err := k.Open(text, context)
		errs = append(errs, err)
	}
	_, err := k.Open(s, "sink:8:secret")
	errs = append(errs, err)
	_, err = newKeyring(t, testKey(1)).Open(s, context)
	errs = append(errs, err)
	_, err = k.Seal(s, context)
	errs = append(errs, err)
	_, err = sealed.NewKeyring(key[:31])
	errs = append(errs, err)
	for _, text := range []string{hex.EncodeToString(key)[:62], base64.StdEncoding.EncodeToString(key[:31]), "x" + base64.StdEncoding.EncodeToString(key)} {
		_, err = sealed.ParseKey(text)
		errs = append(errs, err)
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, secret) || containsKey(msg, key) || containsKey(msg, key[:31]) || strings.Contains(msg, s[len(prefix):]) {
			t.Errorf("case %d: error %q shows a secret", i, msg)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	k := newKeyring(t, testKey(1), testKey(2))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx := fmt.Sprintf("sink:%d:secret", i)
			for range 200 {
				s, err := k.Seal(secret, ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := k.Open(s, ctx); err != nil || got != secret {
					t.Errorf("Open = %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
