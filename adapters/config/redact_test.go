package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/config"
)

// The start-up line prints the configuration: no form of database credential may show in it.
func TestDatabaseCredentialsAreNeverPrinted(t *testing.T) {
	for _, c := range []struct{ database, secret, want string }{
		{"postgres://app:s3cret-userinfo@db:5432/ledger?sslmode=disable", "s3cret-userinfo", "postgres://app:xxxxx@db:5432/ledger?sslmode=disable"},
		{"postgres://app@db/ledger?sslmode=disable&password=s3cret-query", "s3cret-query", "postgres://app@db/ledger?sslmode=disable&password=xxxxx"},
		{"postgresql://db/ledger?user=app&PassWord=s3cret-case", "s3cret-case", "postgresql://db/ledger?user=app&PassWord=xxxxx"},
		{"postgres://db/ledger?sslpassword=s3cret-ssl&sslmode=require", "s3cret-ssl", "postgres://db/ledger?sslpassword=xxxxx&sslmode=require"},
		{"postgres://db/ledger?api_token=s3cret-tok&client_secret=s3cret-cs", "s3cret-tok", "postgres://db/ledger?api_token=xxxxx&client_secret=xxxxx"},
		{"postgres://db/ledger?sslkey=%2Fetc%2Fs3cret-key.pem", "s3cret-key", "postgres://db/ledger?sslkey=xxxxx"},
		{"postgres://app:p%40ss%2Fs3cret-enc@db/ledger", "s3cret-enc", "postgres://app:xxxxx@db/ledger"},
		{"sqlite:./data/ledger.db?_pragma=busy_timeout(1)&key=s3cret-sqlite", "s3cret-sqlite", "sqlite:./data/ledger.db?_pragma=busy_timeout(1)&key=xxxxx"},
	} {
		t.Run(c.want, func(t *testing.T) {
			cfg, err := config.Load(writeFile(t, fmt.Sprintf("database: %q\n", c.database)), env(nil))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			for _, shown := range []string{cfg.String(), fmt.Sprint(cfg), config.RedactDatabase(c.database)} {
				if strings.Contains(shown, c.secret) {
					t.Fatalf("the configuration shows the secret %q: %s", c.secret, shown)
				}
			}
			if got := config.RedactDatabase(c.database); got != c.want {
				t.Errorf("RedactDatabase = %s, want %s", got, c.want)
			}
			if !strings.Contains(cfg.String(), c.want) {
				t.Errorf("the config line lacks the redacted database %s: %s", c.want, cfg)
			}
		})
	}
}

// A driver's error may quote the URL it was given; whatever reaches a log is scrubbed.
func TestHideDatabaseSecretsInErrors(t *testing.T) {
	database := "postgres://app:p%40ss-s3cret@db/ledger?password=q-s3cret&sslmode=bogus"
	err := fmt.Errorf(`ping: parse %q: pq: password "p@ss-s3cret" or "q-s3cret" refused`, database)
	got := config.HideDatabaseSecrets(err.Error(), database)
	for _, secret := range []string{"p%40ss-s3cret", "p@ss-s3cret", "q-s3cret"} {
		if strings.Contains(got, secret) {
			t.Errorf("scrubbed error still shows %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "sslmode=bogus") {
		t.Errorf("scrubbing removed more than the secrets: %s", got)
	}
	// A URL the parser refuses: its password is found as written.
	bad := "postgres://app:pa#ss-s3cret@db/ledger"
	if got := config.HideDatabaseSecrets(errors.New("parse "+bad+": invalid").Error(), bad); strings.Contains(got, "ss-s3cret") {
		t.Errorf("unparsable URL: scrubbed error still shows the password: %s", got)
	}
}

// An unparsable URL is refused at start-up, before a driver can quote it in an error.
func TestUnparsableDatabaseURLIsRefusedWithoutQuotingIt(t *testing.T) {
	_, err := config.Load("", env(map[string]string{"LEDGER_DATABASE": "postgres://app:pa%zz-s3cret@db/ledger"}))
	if err == nil || !strings.Contains(err.Error(), "database is not a valid URL") {
		t.Fatalf("err = %v, want one saying the database URL is invalid", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
