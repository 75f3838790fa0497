package config

import (
	"errors"
	"fmt"
	"net"
)

// Metrics says where /metrics is served and who may read it.
//
//   - Listen set: /metrics is served on that address only, no longer on the main listener.
//   - Tokens set: /metrics requires Authorization: Bearer with one of them, wherever it is served.
//   - Neither: /metrics stays on the main listener, answering loopback clients only.
type Metrics struct {
	Listen string   // e.g. 127.0.0.1:9090, or an internal interface Prometheus scrapes
	Tokens []string // several allow a rotation
}

type fileMetrics struct {
	Listen     string `yaml:"listen"`
	secretRefs `yaml:",inline"`
}

func (m fileMetrics) resolve(getenv func(string) string) (Metrics, error) {
	tokens, err := m.secretRefs.resolve(getenv)
	if err != nil {
		return Metrics{}, fmt.Errorf("metrics: %w", err)
	}
	return Metrics{Listen: m.Listen, Tokens: tokens}, nil
}

func (m Metrics) validate(mainListen string) error {
	if m.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		return fmt.Errorf("listen must be host:port, got %q", m.Listen)
	}
	if m.Listen == mainListen {
		return errors.New("listen must differ from the main listen address")
	}
	return nil
}

// describe shows the metrics setting without its tokens.
func (m Metrics) describe() string {
	where := "main listener, loopback clients only"
	if len(m.Tokens) > 0 {
		where = "main listener"
	}
	if m.Listen != "" {
		where = m.Listen
	}
	if len(m.Tokens) > 0 {
		return fmt.Sprintf("%s, bearer token (%d)", where, len(m.Tokens))
	}
	return where
}
