package sinks

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/leadledger/leadledger/adapters/sinks/natssink"
	"github.com/leadledger/leadledger/eventstore"
)

// publisher returns the NATS sink's publisher, connected on first use or when its config changed.
func (m *Manager) publisher(ctx context.Context, s Sink) (*natssink.Publisher, error) {
	m.clientsMu.Lock()
	p, ok := m.publishers[s.ID]
	m.clientsMu.Unlock()
	if ok && p.config == string(s.Config) {
		return p.Publisher, nil
	}
	c, err := decodeConfig[natsConfig](s.Config)
	if err != nil {
		return nil, err
	}
	fresh, err := natssink.New(ctx, natssink.Config{URL: c.URL, Subject: c.Subject, Logger: m.log,
		Dialer: natsDialer(m.registry.guard)}) // not under the lock: NATS may be slow to answer
	if err != nil {
		return nil, err
	}
	m.clientsMu.Lock()
	defer m.clientsMu.Unlock()
	if old, ok := m.publishers[s.ID]; ok {
		if old.config == string(s.Config) { // another worker connected first
			_ = fresh.Close()
			return old.Publisher, nil
		}
		_ = old.Close()
	}
	m.publishers[s.ID] = sinkPublisher{Publisher: fresh, config: string(s.Config)}
	return fresh, nil
}

type sinkPublisher struct {
	*natssink.Publisher
	config string
}

// publish sends one event, as a webhook body, to the sink's JetStream subject; JetStream
// drops a second copy of an event id (Nats-Msg-Id) within its duplicate window.
func (m *Manager) publish(ctx context.Context, s Sink, e eventstore.Envelope) result {
	p, err := m.publisher(ctx, s)
	if err != nil {
		return result{err: err}
	}
	body, err := json.Marshal(newWebhookBody(e))
	if err != nil {
		return result{err: fmt.Errorf("encode event %s: %w", e.ID, err)}
	}
	if err := p.Publish(ctx, e.ID, body); err != nil {
		return result{err: err}
	}
	return result{}
}

// closePublishers disconnects from NATS when delivery stops.
func (m *Manager) closePublishers() {
	m.clientsMu.Lock()
	defer m.clientsMu.Unlock()
	for id, p := range m.publishers {
		_ = p.Close()
		delete(m.publishers, id)
	}
}

func validateNATS(c natsConfig) error {
	if err := natssink.Validate(natssink.Config{URL: c.URL, Subject: c.Subject}); err != nil {
		return invalid("Invalid config.%v", err)
	}
	return nil
}
