package natssink

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNamesTheField(t *testing.T) {
	const subject = "leadledger.events"
	const url = "nats://127.0.0.1:4222"
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string // "" for valid
	}{
		{"valid", Config{URL: url, Subject: subject}, ""},
		{"tls with credentials", Config{URL: "tls://user:pass@nats.example:4222", Subject: subject}, ""},
		{"cluster list", Config{URL: "nats://a:4222, nats://b:4222", Subject: subject}, ""},
		{"one token subject", Config{URL: url, Subject: "events"}, ""},
		{"no url", Config{Subject: subject}, "url"},
		{"blank url", Config{URL: "  ", Subject: subject}, "url"},
		{"http scheme", Config{URL: "http://127.0.0.1:4222", Subject: subject}, "url"},
		{"no scheme", Config{URL: "127.0.0.1:4222", Subject: subject}, "url"},
		{"no host", Config{URL: "nats://", Subject: subject}, "url"},
		{"bad list member", Config{URL: "nats://a:4222,http://b:4222", Subject: subject}, "url"},
		{"unparsable", Config{URL: "nats://user:pa%zzword@h:4222", Subject: subject}, "url"},
		{"no subject", Config{URL: url}, "subject"},
		{"space", Config{URL: url, Subject: "lead events"}, "subject"},
		{"tab", Config{URL: url, Subject: "lead\tevents"}, "subject"},
		{"star", Config{URL: url, Subject: "leadledger.*"}, "subject"},
		{"full wildcard", Config{URL: url, Subject: "leadledger.>"}, "subject"},
		{"leading dot", Config{URL: url, Subject: ".events"}, "subject"},
		{"trailing dot", Config{URL: url, Subject: "events."}, "subject"},
		{"double dot", Config{URL: url, Subject: "lead..events"}, "subject"},
		{"system subject", Config{URL: url, Subject: "$JS.API.x"}, "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.cfg)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate: %v, want a *FieldError for %s", err, tc.field)
			}
			if fe.Field != tc.field || !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("Validate: %q names field %q, want %q", err, fe.Field, tc.field)
			}
			if strings.Contains(err.Error(), "pa%zzword") {
				t.Errorf("Validate repeats the password: %q", err)
			}
		})
	}
}

func TestNewRefusesAnInvalidConfigBeforeConnecting(t *testing.T) {
	_, err := New(t.Context(), Config{URL: "nats://127.0.0.1:1", Subject: "a b"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "subject" {
		t.Fatalf("New: %v, want the subject's FieldError", err)
	}
}
