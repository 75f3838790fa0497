package natssink

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactReplacesUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                        "nats://127.0.0.1:4222",
		"nats://user:pass@h:4222":                      "nats://REDACTED@h:4222",
		"tls://s3cr3tt0ken@h:4222":                     "tls://REDACTED@h:4222",
		"nats://u:p@a:4222,nats://b:4222":              "nats://REDACTED@a:4222,nats://b:4222",
		"nats://user:pa%zzword@h:4222":                 "nats://(unparsable URL, not shown)",
		"nats://a:4222, nats://user:secretword@b:4222": "nats://a:4222,nats://REDACTED@b:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHideCredentialsKeepsTheErrorChain(t *testing.T) {
	cause := errors.New("refused for leaduser with s3cretpass")
	err := hideCredentials(cause, "nats://leaduser:s3cretpass@h:4222")
	if strings.Contains(err.Error(), "leaduser") || strings.Contains(err.Error(), "s3cretpass") {
		t.Errorf("credentials left in %q", err)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is lost")
	}
}

func TestStreamNameHasOnlyStreamNameCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"events":            "events",
		"leadledger.events": "leadledger_events",
		"a/b.c-d_e":         "a_b_c-d_e",
	} {
		if got := streamName(in); got != want {
			t.Errorf("streamName(%q) = %q, want %q", in, got, want)
		}
	}
}
