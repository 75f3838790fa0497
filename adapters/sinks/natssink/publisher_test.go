package natssink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

func TestPublishStoresEachEventWithItsIDAsMsgID(t *testing.T) {
	srv := startNATS(t)
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "leadledger.events"})

	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i, id := range ids {
		if err := p.Publish(t.Context(), id, body(i)); err != nil {
			t.Fatalf("publish event %d: %v", i, err)
		}
	}

	js := jetStream(t, srv.URL())
	// A plain nats.go consumer, not watermill's subscriber: what any other system reading the
	// stream sees.
	sub, err := js.SubscribeSync("leadledger.events", nats.DeliverAll(), nats.AckNone())
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for i, id := range ids {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("read message %d: %v", i, err)
		}
		if got := string(msg.Data); got != string(body(i)) {
			t.Errorf("message %d payload = %s, want %s", i, got, body(i))
		}
		if got := msg.Header.Get(nats.MsgIdHdr); got != id.String() {
			t.Errorf("message %d Nats-Msg-Id = %q, want the event id %s", i, got, id)
		}
		if got := msg.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("message %d Content-Type = %q, want application/json", i, got)
		}
	}
	// The stream was created for the subject, named after it: a dot is no stream-name character.
	if got := storedCount(t, js, "leadledger_events"); got != 3 {
		t.Errorf("stream holds %d messages, want 3", got)
	}
}

func TestPublishSameEventTwiceStoresItOnce(t *testing.T) {
	srv := startNATS(t)
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events"})

	id := uuid.New()
	for attempt := 1; attempt <= 2; attempt++ {
		// The second is a sink's retry after an acknowledgement it did not get: JetStream's
		// duplicate window drops it, and Publish reports success as the event is stored.
		if err := p.Publish(t.Context(), id, body(0)); err != nil {
			t.Fatalf("publish attempt %d: %v", attempt, err)
		}
	}
	js := jetStream(t, srv.URL())
	if got := storedCount(t, js, "events"); got != 1 {
		t.Fatalf("stream holds %d messages after publishing one event twice, want 1", got)
	}
	// Dedupe is by event id: another event is stored.
	if err := p.Publish(t.Context(), uuid.New(), body(0)); err != nil {
		t.Fatalf("publish another event: %v", err)
	}
	if got := storedCount(t, js, "events"); got != 2 {
		t.Fatalf("stream holds %d messages after a second event, want 2", got)
	}
}

func TestPublishFailsWithinItsContextWhileTheServerIsDownAndRecoversAfter(t *testing.T) {
	srv := startNATS(t)
	log := &syncBuffer{}
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events", Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err := p.Publish(t.Context(), uuid.New(), body(0)); err != nil {
		t.Fatalf("publish while up: %v", err)
	}

	srv.stop()
	id := uuid.New()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := p.Publish(ctx, id, body(1))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("publish with the server down succeeded")
	}
	if elapsed > 4*time.Second {
		t.Errorf("publish with the server down took %v, past its 3s context", elapsed)
	}
	if !strings.Contains(err.Error(), id.String()) {
		t.Errorf("error %q does not name the event", err)
	}
	t.Logf("server down: %v after %v", err, elapsed.Round(time.Millisecond))

	// Back on the same port and store: the connection reconnects by itself and the same event
	// goes through on a retry.
	srv.start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err = p.Publish(ctx, id, body(1))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish still fails 15s after the server came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := storedCount(t, jetStream(t, srv.URL()), "events"); got != 2 {
		t.Errorf("stream holds %d messages, want 2", got)
	}
	if !strings.Contains(log.String(), "nats sink disconnected") {
		t.Errorf("the disconnect was not logged; log:\n%s", log.String())
	}
}

func TestPublishAndNewReturnAtTheirDeadlineWhenTheServerHangs(t *testing.T) {
	srv := startNATS(t)
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events"})

	// A stopped process keeps its connections open and answers nothing: the client sees no
	// disconnect, so only the context can end the wait for an acknowledgement.
	srv.pause()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	err := p.Publish(ctx, uuid.New(), body(0))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a hung server: %v, want %v", err, context.DeadlineExceeded)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("publish to a hung server took %v, past its 1s context", elapsed)
	}

	ctx, cancel = context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start = time.Now()
	if q, err := New(ctx, Config{URL: srv.URL(), Subject: "events"}); err == nil {
		q.Close()
		t.Fatal("New on a hung server succeeded")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("New on a hung server took %v, past its 1s context", elapsed)
	}
}

func TestNewFailsWithoutAServerAndHidesCredentials(t *testing.T) {
	url := fmt.Sprintf("nats://leaduser:s3cretpass@127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	p, err := New(ctx, Config{URL: url, Subject: "events"})
	if err == nil {
		p.Close()
		t.Fatal("New connected to a port nothing listens on")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cretpass") || strings.Contains(msg, "leaduser") {
		t.Errorf("error shows the URL's credentials: %s", msg)
	}
	if !strings.Contains(msg, "REDACTED@127.0.0.1") {
		t.Errorf("error does not name the server: %s", msg)
	}
	t.Logf("no server: %v", err)
}

func TestNewUsesAStreamThatAlreadyCoversTheSubject(t *testing.T) {
	srv := startNATS(t)
	js := jetStream(t, srv.URL())
	if _, err := js.AddStream(&nats.StreamConfig{Name: "OPS", Subjects: []string{"ops.>"}}); err != nil {
		t.Fatalf("create the operator's stream: %v", err)
	}
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "ops.leads"})
	if err := p.Publish(t.Context(), uuid.New(), body(0)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if got := storedCount(t, js, "OPS"); got != 1 {
		t.Errorf("operator's stream holds %d messages, want 1", got)
	}
	if _, err := js.StreamInfo("ops_leads"); !errors.Is(err, nats.ErrStreamNotFound) {
		t.Errorf("a second stream was made for the subject (StreamInfo: %v)", err)
	}
}

func TestPublishProvisionsTheStreamAgainAfterItWasDeleted(t *testing.T) {
	srv := startNATS(t)
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events"})
	js := jetStream(t, srv.URL())
	if err := js.DeleteStream("events"); err != nil {
		t.Fatalf("delete stream: %v", err)
	}
	if err := p.Publish(t.Context(), uuid.New(), body(0)); err != nil {
		t.Fatalf("publish after the stream was deleted: %v", err)
	}
	if got := storedCount(t, js, "events"); got != 1 {
		t.Errorf("stream holds %d messages, want 1", got)
	}
}

func TestPublishRefusesTheNilEventID(t *testing.T) {
	srv := startNATS(t)
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events"})
	if err := p.Publish(t.Context(), uuid.Nil, body(0)); err == nil {
		t.Fatal("publish with the nil event id succeeded")
	}
}

func TestPublishAfterCloseFails(t *testing.T) {
	srv := startNATS(t)
	log := &syncBuffer{}
	p := newPublisher(t, Config{URL: srv.URL(), Subject: "events", Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := p.Publish(t.Context(), uuid.New(), body(0)); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("publish after close: %v, want %v", err, nats.ErrConnectionClosed)
	}
	time.Sleep(100 * time.Millisecond) // nats.go runs its callbacks on a goroutine of its own
	if strings.Contains(log.String(), "disconnected") {
		t.Errorf("Close was logged as an outage:\n%s", log.String())
	}
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// jetStream is a plain nats.go JetStream context on url, to look at what the publisher stored.
func jetStream(t *testing.T, url string) nats.JetStreamContext {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	return js
}

func storedCount(t *testing.T, js nats.JetStreamContext, stream string) uint64 {
	t.Helper()
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return info.State.Msgs
}

func body(n int) []byte { return fmt.Appendf(nil, `{"n":%d}`, n) }
