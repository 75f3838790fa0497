package natssink

import (
	"net/url"
	"strings"
)

// Redact returns a NATS URL (or comma-separated list) fit for a log line or an error: the user
// info of each server, user and password or token, is replaced by "REDACTED". A server URL that
// does not parse is not shown.
func Redact(rawURL string) string {
	parts := strings.Split(rawURL, ",")
	for i, part := range parts {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil {
			scheme, _, _ := strings.Cut(part, "://")
			parts[i] = scheme + "://(unparsable URL, not shown)"
			continue
		}
		// The whole user info goes, not only the password as url.Redacted does: a NATS
		// token travels as the user name (nats://token@host).
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// hideCredentials returns err with the URL's user names, passwords and tokens replaced in its
// text, in case the client library quotes them; errors.Is and errors.As still see err. Values
// shorter than 4 characters are left: replacing them would garble the text, and they guard
// nothing.
func hideCredentials(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	var secrets []string
	for part := range strings.SplitSeq(rawURL, ",") {
		u, perr := url.Parse(strings.TrimSpace(part))
		if perr != nil || u.User == nil {
			continue
		}
		password, _ := u.User.Password()
		for _, s := range []string{u.User.String(), u.User.Username(), password} {
			if len(s) >= 4 {
				secrets = append(secrets, s)
			}
		}
	}
	if len(secrets) == 0 {
		return err
	}
	return &hiddenError{err: err, secrets: secrets}
}

type hiddenError struct {
	err     error
	secrets []string
}

func (e *hiddenError) Error() string {
	text := e.err.Error()
	for _, s := range e.secrets { // user:pass first, so its parts are not replaced one by one
		text = strings.ReplaceAll(text, s, "REDACTED")
	}
	return text
}

func (e *hiddenError) Unwrap() error { return e.err }
