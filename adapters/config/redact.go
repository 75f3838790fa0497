package config

import (
	"net/url"
	"slices"
	"strings"
)

// masked replaces a credential wherever the configuration is shown.
const masked = "xxxxx"

// RedactDatabase returns the database URL fit for a log line or an error: the user-info
// password and the value of every query parameter whose name contains pass, secret, token or
// key (password, sslpassword, sslkey, ...) are masked. A URL that does not parse is not shown.
func RedactDatabase(database string) string {
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		file, query, hasQuery := strings.Cut(path, "?")
		if !hasQuery {
			return database
		}
		return "sqlite:" + file + "?" + redactQuery(query)
	}
	u, err := url.Parse(database)
	if err != nil {
		scheme, _, _ := strings.Cut(database, "://")
		return scheme + "://(unparsable URL, not shown)"
	}
	u.RawQuery = redactQuery(u.RawQuery)
	return u.Redacted()
}

// redactQuery masks the sensitive values of a raw query, keeping its order and its other values.
func redactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		name, _, hasValue := strings.Cut(pair, "=")
		if hasValue && sensitiveParam(name) {
			pairs[i] = name + "=" + masked
		}
	}
	return strings.Join(pairs, "&")
}

// sensitiveParam reports whether a query parameter's name says it holds a credential.
func sensitiveParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, word := range []string{"pass", "secret", "token", "key"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// HideDatabaseSecrets masks in text every credential the database URL carries, as written and
// percent-decoded: for errors from drivers and parsers, which may quote the URL they were given.
func HideDatabaseSecrets(text, database string) string {
	secrets := databaseSecrets(database)
	// The longest first, so that no part of a longer one is left behind a shorter one's mask.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, secret := range secrets {
		text = strings.ReplaceAll(text, secret, masked)
	}
	return text
}

// databaseSecrets lists the credentials in a database URL. The password is also taken
// generously as written (from the first colon to the last @), in case the URL does not parse.
func databaseSecrets(database string) []string {
	var found []string
	add := func(raw string) {
		if raw == "" {
			return
		}
		found = append(found, raw)
		if decoded, err := url.QueryUnescape(raw); err == nil && decoded != raw && decoded != "" {
			found = append(found, decoded)
		}
	}
	_, rest, ok := strings.Cut(database, "://")
	if !ok {
		_, rest, _ = strings.Cut(database, ":")
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if _, password, ok := strings.Cut(rest[:at], ":"); ok {
			add(password) // as written, even when the URL does not parse
		}
	}
	_, query, _ := strings.Cut(rest, "?")
	if u, err := url.Parse(database); err == nil {
		if password, ok := u.User.Password(); ok {
			add(password)
		}
		query = u.RawQuery
	}
	for _, pair := range strings.Split(query, "&") {
		if name, value, ok := strings.Cut(pair, "="); ok && sensitiveParam(name) {
			add(value)
		}
	}
	return found
}
