package sealed_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/sealed"
)

func TestParseKeyAcceptsEncodings(t *testing.T) {
	// Bytes chosen so that the standard and URL alphabets differ (+/ against -_).
	key := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:sealed.KeySize]
	for name, text := range map[string]string{
		"base64 std padded":   base64.StdEncoding.EncodeToString(key),
		"base64 std unpadded": base64.RawStdEncoding.EncodeToString(key),
		"base64 url padded":   base64.URLEncoding.EncodeToString(key),
		"base64 url unpadded": base64.RawURLEncoding.EncodeToString(key),
		"hex lower":           hex.EncodeToString(key),
		"hex upper":           strings.ToUpper(hex.EncodeToString(key)),
		"surrounding space":   "  \t" + base64.StdEncoding.EncodeToString(key) + "\r\n",
	} {
		got, err := sealed.ParseKey(text)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: ParseKey = %x, %v; want the key", name, got, err)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	for name, c := range map[string]struct{ text, want string }{
		"empty":          {"", "empty"},
		"space":          {" \n", "empty"},
		"31 bytes b64":   {base64.StdEncoding.EncodeToString(make([]byte, 31)), "base64 decodes to 31 bytes"},
		"33 bytes b64":   {base64.RawURLEncoding.EncodeToString(make([]byte, 33)), "base64 decodes to 33 bytes"},
		"31 bytes hex":   {hex.EncodeToString(make([]byte, 31)), "hex decodes to 31 bytes"},
		"33 bytes hex":   {hex.EncodeToString(make([]byte, 33)), "hex decodes to 33 bytes"},
		"16 bytes b64":   {base64.StdEncoding.EncodeToString(make([]byte, 16)), "16 bytes"},
		"neither":        {"this is not a key!", "neither base64 nor hex"},
		"inner space":    {"AAAA AAAA", "neither base64 nor hex"},
		"mixed alphabet": {strings.Repeat("+-", 21) + "A", "neither base64 nor hex"},
	} {
		_, err := sealed.ParseKey(c.text)
		if !errors.Is(err, sealed.ErrInvalidKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalidKey saying %q", name, err, c.want)
		}
	}
}

func TestParsedKeyMakesKeyring(t *testing.T) {
	key, err := sealed.ParseKey(base64.StdEncoding.EncodeToString(testKey(9)))
	if err != nil {
		t.Fatal(err)
	}
	fromHex, err := sealed.ParseKey(hex.EncodeToString(testKey(9)))
	if err != nil {
		t.Fatal(err)
	}
	// The same key in either encoding has the same id, so a rotation config may spell it
	// either way.
	if newKeyring(t, key).KeyID() != newKeyring(t, fromHex).KeyID() {
		t.Error("one key in two encodings has two key ids")
	}
}
