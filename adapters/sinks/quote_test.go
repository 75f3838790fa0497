package sinks

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// A receiver's answer kept in last_error never carries the credentials of the sink's URL, in
// any form the request sent them, not even cut in two at the end of what is kept.
func TestQuoteRedactsCredentials(t *testing.T) {
	const password, token = "hook-password-1", "query-token/2"
	s := Sink{URL: "https://hook-user:" + password + "@example.com/hook?v=1&token=" + token}
	basic := base64.StdEncoding.EncodeToString([]byte("hook-user:" + password))
	for name, answer := range map[string]string{
		"echoed as given":   "bad token " + token + " for hook-user:" + password,
		"echoed as sent":    "no route for POST /hook?v=1&token=query-token%2F2, Authorization: Basic " + basic,
		"across the cut":    strings.Repeat("x", answerKept-10) + " " + token,
		"path-escaped":      "token " + "query-token%2F2",
		"multi-byte at cut": strings.Repeat("é", answerKept),
	} {
		got := s.quote([]byte(answer))
		for _, secret := range []string{password, token, basic, "query-token%2F2", "query-tok", "hook-user"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s: %q keeps %q", name, got, secret)
			}
		}
		if len(got) > answerKept || !utf8.ValidString(got) {
			t.Errorf("%s: %q is %d bytes (at most %d), valid UTF-8 %v", name, got, len(got), answerKept, utf8.ValidString(got))
		}
	}
	if got := s.quote([]byte("version 1 refused")); got != "version 1 refused" {
		t.Errorf("a short query value garbled the answer: %q", got)
	}
}
