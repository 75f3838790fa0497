// Package natssink publishes the event log to a NATS JetStream subject through watermill's
// NATS publisher. Each event is one message whose watermill UUID is the event id, which the
// publisher sends as the Nats-Msg-Id header: JetStream drops a re-publish of the same event
// within the stream's duplicate window (2 minutes unless the stream says otherwise), so a
// retry after a lost acknowledgement does not store the event twice.
package natssink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// defaultTimeout bounds New and Publish when their context has no deadline: a JetStream
// request that gets no answer would otherwise wait for ever.
const defaultTimeout = 10 * time.Second

// Publisher publishes events to one JetStream subject. It is safe for concurrent use.
type Publisher struct {
	conn    *nats.Conn
	js      nats.JetStreamContext
	subject string
	url     string // redacted, for errors and logs
	wlog    watermill.LoggerAdapter
}

// New connects to cfg.URL and makes sure a stream stores cfg.Subject, creating one when none
// does. ctx bounds both (10 seconds when it has no deadline); the connection then lives until
// Close, reconnecting for as long as it takes. Errors name the server with its credentials
// redacted.
func New(ctx context.Context, cfg Config) (*Publisher, error) {
	if err := Validate(cfg); err != nil {
		return nil, fmt.Errorf("natssink: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()

	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wlog watermill.LoggerAdapter = watermill.NopLogger{}
	if cfg.Logger != nil {
		wlog = watermill.NewSlogLogger(cfg.Logger)
	}
	redacted := Redact(cfg.URL)

	opts := options(log, redacted)
	if cfg.Dialer != nil {
		opts = append(opts, nats.SetCustomDialer(cfg.Dialer))
	}
	conn, err := connect(ctx, cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natssink: connect to %s: %w", redacted, hideCredentials(err, cfg.URL))
	}
	js, err := conn.JetStream()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("natssink: JetStream context on %s: %w", redacted, err)
	}
	if _, err := provision(ctx, js, cfg.Subject); err != nil {
		conn.Close()
		return nil, fmt.Errorf("natssink: on %s: %w", redacted, hideCredentials(err, cfg.URL))
	}
	return &Publisher{conn: conn, js: js, subject: cfg.Subject, url: redacted, wlog: wlog}, nil
}

// options are the connection's: it reconnects for ever, because a sink lives as long as the
// service and the server coming back should resume delivery without a restart; and it keeps no
// reconnect buffer, so a publish while the server is away fails at once for the sink to retry
// later, instead of waiting in a buffer for an acknowledgement that may come after its deadline.
func options(log *slog.Logger, redacted string) []nats.Option {
	return []nats.Option{
		nats.Name("leadledger natssink"),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			if c.IsClosed() { // Close, not an outage
				return
			}
			log.Warn("nats sink disconnected", "server", redacted, "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			log.Info("nats sink reconnected", "server", redacted)
		}),
	}
}

// connect is nats.Connect bounded by ctx, which nats.Connect does not take. A connection that
// comes up after ctx ended is closed.
func connect(ctx context.Context, url string, opts ...nats.Option) (*nats.Conn, error) {
	type result struct {
		conn *nats.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := nats.Connect(url, opts...)
		done <- result{conn, err}
	}()
	select {
	case r := <-done:
		return r.conn, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Publish publishes one event: the message's UUID is eventID, so its Nats-Msg-Id header is the
// event id; its payload is body, with Content-Type application/json. It returns once JetStream
// has acknowledged the message (a duplicate the stream dropped counts as acknowledged), or with
// an error when ctx ends first; without a deadline on ctx it waits at most 10 seconds.
func (p *Publisher) Publish(ctx context.Context, eventID uuid.UUID, body []byte) error {
	if eventID == uuid.Nil {
		// Every event with the nil id would be a duplicate of the first one.
		return errors.New("natssink: publish: the event id is the nil UUID")
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()

	err := p.publish(ctx, eventID, body)
	if errors.Is(err, nats.ErrNoStreamResponse) {
		// No stream stores the subject any more (deleted since New): provision it again and
		// publish once more, which Nats-Msg-Id makes safe should the first one have landed.
		if _, perr := provision(ctx, p.js, p.subject); perr != nil {
			return fmt.Errorf("natssink: publish event %s to %q on %s: %w (and re-provisioning failed: %v)", eventID, p.subject, p.url, err, perr)
		}
		err = p.publish(ctx, eventID, body)
	}
	if err != nil {
		if p.conn.IsReconnecting() {
			// nats.go's own word for this is "outbound buffer limit exceeded".
			err = fmt.Errorf("server unreachable, reconnecting: %w", err)
		}
		return fmt.Errorf("natssink: publish event %s to %q on %s: %w", eventID, p.subject, p.url, err)
	}
	return nil
}

// publish sends the event through a watermill NATS publisher made for this call: watermill's
// Publish takes no context, so ctx reaches JetStream's wait for the acknowledgement as a publish
// option of the publisher's config. Making one is cheap (no round trip), and it shares the
// connection, which is why it is not closed.
func (p *Publisher) publish(ctx context.Context, eventID uuid.UUID, body []byte) error {
	pub, err := wmnats.NewPublisherWithNatsConn(p.conn, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream: wmnats.JetStreamConfig{
			TrackMsgId:     true, // Nats-Msg-Id = message UUID = event id: JetStream dedupes
			PublishOptions: []nats.PubOpt{nats.Context(ctx)},
		},
	}, p.wlog)
	if err != nil {
		return fmt.Errorf("watermill publisher: %w", err)
	}
	msg := message.NewMessage(eventID.String(), body)
	msg.Metadata.Set("Content-Type", "application/json")
	return pub.Publish(p.subject, msg)
}

// Close closes the connection. Publish calls have returned by their acknowledgement, so nothing
// is left in flight; a Publish after Close fails.
func (p *Publisher) Close() error {
	p.conn.Close()
	return nil
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultTimeout)
}
