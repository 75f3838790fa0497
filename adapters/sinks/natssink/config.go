package natssink

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"unicode"
)

// Config is where a NATS sink publishes.
type Config struct {
	// URL is the server, nats://host:4222 or tls://host:4222, with optional user info
	// (nats://user:pass@host, nats://token@host). A comma-separated list names the servers of
	// one cluster, as nats.Connect takes it. Required.
	URL string
	// Subject is the JetStream subject every event is published to, without wildcards. A
	// stream is created for it when none stores it yet. Required.
	Subject string
	// Logger gets the connection's disconnects and reconnects, and watermill's own log lines.
	// Optional: nil logs nothing.
	Logger *slog.Logger
	// Dialer makes every connection to the servers, reconnects and servers the cluster
	// announces included (the address guard's, which refuses private addresses). Optional: nil
	// lets nats.go dial.
	Dialer *net.Dialer
}

// FieldError is a Config field that Validate refuses. Field is the config key as the admin
// API takes it ("url" or "subject"), so the API can name it in its own words.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate checks cfg without connecting: the URL's scheme and host, and the subject's syntax.
// Its error is a *FieldError naming the field; it never repeats the URL, which may carry
// credentials.
func Validate(cfg Config) error {
	if err := validateURL(cfg.URL); err != nil {
		return err
	}
	return validateSubject(cfg.Subject)
}

func validateURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return &FieldError{"url", "required"}
	}
	for part := range strings.SplitSeq(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			// url.Parse's error quotes the URL, password included: say only that it failed.
			return &FieldError{"url", "not a valid URL (is a character in the user info left unescaped?)"}
		}
		if u.Scheme != "nats" && u.Scheme != "tls" {
			return &FieldError{"url", fmt.Sprintf("scheme must be nats:// or tls://, not %q", u.Scheme)}
		}
		if u.Hostname() == "" {
			return &FieldError{"url", "must name a host, as in nats://host:4222"}
		}
	}
	return nil
}

// validateSubject accepts what a publisher may send to: dot-separated tokens without spaces
// or wildcards, outside the "$" subjects that NATS keeps for itself ($JS, $SYS, $KV, ...).
func validateSubject(subject string) error {
	switch {
	case subject == "":
		return &FieldError{"subject", "required"}
	case strings.ContainsFunc(subject, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return &FieldError{"subject", "must not contain spaces or control characters"}
	case strings.ContainsAny(subject, "*>"):
		return &FieldError{"subject", "must not contain the wildcards * or >: events go to one subject"}
	case strings.HasPrefix(subject, "$"):
		return &FieldError{"subject", "must not start with $, which NATS reserves for its own subjects"}
	}
	for token := range strings.SplitSeq(subject, ".") {
		if token == "" {
			return &FieldError{"subject", "must be dot-separated tokens, none of them empty (no leading, trailing or double dots)"}
		}
	}
	return nil
}
