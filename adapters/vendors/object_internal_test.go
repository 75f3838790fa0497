package vendors

import (
	"encoding/json"
	"testing"
)

// plainString must read every string it takes exactly as json.Unmarshal does, and leave to it
// what it cannot (escapes, invalid UTF-8, values that are not strings).
func TestPlainStringAgreesWithUnmarshal(t *testing.T) {
	for _, c := range []struct {
		raw   string
		taken bool
	}{
		{`"Jane Doe"`, true},
		{`""`, true},
		{`"Zoë, 東京 ☎"`, true},
		{`"a \"quoted\" word"`, false},
		{`"\u00e9"`, false},
		{"\"bad \xff byte\"", false}, // Unmarshal replaces it with U+FFFD
		{`12`, false},
		{`true`, false},
		{`{"a":"b"}`, false},
	} {
		got, ok := plainString(json.RawMessage(c.raw))
		if ok != c.taken {
			t.Errorf("plainString(%s) taken = %v, want %v", c.raw, ok, c.taken)
			continue
		}
		var want string
		if ok && (json.Unmarshal([]byte(c.raw), &want) != nil || got != want) {
			t.Errorf("plainString(%s) = %q, json.Unmarshal gives %q", c.raw, got, want)
		}
	}
}

func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"esc\"aped"`, "\"\xff\"", `"☎"`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // plainString only ever sees values the decoder accepted
		}
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, json.Unmarshal gives %q (%v)", raw, got, want, err)
		}
	})
}
