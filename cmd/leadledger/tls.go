package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/leadledger/leadledger/adapters/config"
)

// certificate serves the configured certificate over TLS and reads it again on SIGHUP: a
// renewed certificate is served to new connections without a restart, and connections open
// at the time keep theirs.
type certificate struct {
	files   config.TLS
	current atomic.Pointer[tls.Certificate]
}

func loadCertificate(files config.TLS) (*certificate, error) {
	c := &certificate{files: files}
	return c, c.reload()
}

func (c *certificate) reload() error {
	pair, err := tls.LoadX509KeyPair(c.files.CertFile, c.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
		return fmt.Errorf("tls: %s: %w", c.files.CertFile, err)
	}
	c.current.Store(&pair)
	return nil
}

// config is the servers' TLS configuration: TLS 1.2 and later, Go's default cipher suites.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}

// reloadOnHangup reads the files again at each SIGHUP until ctx ends. A pair that does not
// load is logged and the one in use kept.
func (c *certificate) reloadOnHangup(ctx context.Context, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := c.reload(); err != nil {
				log.Error("tls: kept the certificate in use; the files did not load", "err", err)
				continue
			}
			leaf := c.current.Load().Leaf
			log.Info("tls: certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
		}
	}
}
