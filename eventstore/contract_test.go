package eventstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// TestContract runs the same suite against every backend: the store's guarantees do not
// depend on the database under it.
func TestContract(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Run("append and read a stream", func(t *testing.T) { testAppendAndRead(t, backend) })
			t.Run("50 concurrent appends to one lead", func(t *testing.T) { testConcurrentOneLead(t, backend) })
			t.Run("duplicate version fails", func(t *testing.T) { testDuplicateVersion(t, backend) })
			t.Run("many events are atomic", func(t *testing.T) { testAtomicBatch(t, backend) })
			t.Run("read the global log", func(t *testing.T) { testReadAll(t, backend) })
			t.Run("consumer group across a restart", func(t *testing.T) { testConsumerGroupRestart(t, backend) })
			t.Run("plain watermill subscriber reads the log", func(t *testing.T) { testPlainSubscriber(t, backend) })
			t.Run("migrate is idempotent", func(t *testing.T) { testMigrateTwice(t, backend) })
		})
	}
}

func openStore(t testing.TB, url string) *eventstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, eventstore.Config{URL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newEvent builds an event of a lead with a body that differs per call.
func newEvent(source, leadKey string, n int) domain.Event {
	raw := []byte(fmt.Sprintf(`{"lead":%q,"n":%d,"big":9007199254740993,"note":"caf\u00e9 <&>"}`, leadKey, n))
	p := domain.Parsed{Type: domain.LeadCaptured, LeadKey: leadKey, OccurredAt: "2025-05-23T11:40:07",
		Data: domain.LeadData{ExternalID: leadKey, Name: fmt.Sprintf("Lead %d", n)}}
	p.Data.SetEmail(" Sarah@Example.COM ")
	return domain.NewEvent(source, "leadflo", p, raw, time.Now())
}

func testAppendAndRead(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	a1, b1, a2 := newEvent("leadflo", "a", 1), newEvent("leadflo", "b", 1), newEvent("leadflo", "a", 2)
	stored, err := s.Append(ctx, a1, b1)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if stored[0].Version != 1 || stored[1].Version != 1 {
		t.Fatalf("versions = %d, %d; want 1, 1", stored[0].Version, stored[1].Version)
	}
	if stored[0].Position == 0 || stored[1].Position <= stored[0].Position {
		t.Fatalf("positions = %d, %d; want increasing from 1", stored[0].Position, stored[1].Position)
	}
	more, err := s.Append(ctx, a2)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if more[0].Version != 2 {
		t.Fatalf("second event of lead a has version %d, want 2", more[0].Version)
	}
	got, err := s.ReadStream(ctx, a1.LeadID)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 2 || got[0].ID != a1.ID || got[1].ID != a2.ID {
		t.Fatalf("stream of lead a = %v, want [%s %s]", ids(got), a1.ID, a2.ID)
	}
	e := got[0]
	if !bytes.Equal(e.Raw, a1.Raw) {
		t.Errorf("raw = %q, want the bytes as sent %q", e.Raw, a1.Raw)
	}
	sum := sha256.Sum256(e.Raw)
	if e.RawSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("raw_sha256 = %s does not hash the stored raw body", e.RawSHA256)
	}
	if e.Type != domain.LeadCaptured || e.LeadID != a1.LeadID || e.Source != "leadflo" || e.Vendor != "leadflo" {
		t.Errorf("event header = %+v", e)
	}
	if !e.ReceivedAt.Equal(a1.ReceivedAt) || e.OccurredAt != "2025-05-23T11:40:07" {
		t.Errorf("times = %v %q, want %v and the zone-less time as sent", e.ReceivedAt, e.OccurredAt, a1.ReceivedAt)
	}
	if e.Data.Email != " Sarah@Example.COM " || e.Data.EmailNormalized != "sarah@example.com" || e.Data.Name != "Lead 1" {
		t.Errorf("data = %+v", e.Data)
	}
	if e.Position != stored[0].Position || e.Version != 1 {
		t.Errorf("read position/version = %d/%d, want %d/1", e.Position, e.Version, stored[0].Position)
	}
}

func testConcurrentOneLead(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Append(ctx, newEvent("leadflo", "hot", i))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	got, err := s.ReadStream(ctx, domain.LeadID("leadflo", "hot"))
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != writers {
		t.Fatalf("stream has %d events, want %d", len(got), writers)
	}
	for i, e := range got {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d: versions must be 1..%d with no gap or duplicate", i, e.Version, writers)
		}
		if i > 0 && e.Position <= got[i-1].Position {
			t.Fatalf("version %d has position %d, not after version %d's %d", e.Version, e.Position, i, got[i-1].Position)
		}
	}
}

func testDuplicateVersion(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	if _, err := s.Append(ctx, newEvent("leadflo", "a", 1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	dup := newEvent("leadflo", "a", 2)
	dup.Version = 1
	_, err := s.Append(ctx, dup)
	if !errors.Is(err, domain.ErrVersionConflict) {
		t.Fatalf("appending version 1 again: err = %v, want domain.ErrVersionConflict", err)
	}
	next := newEvent("leadflo", "a", 3)
	next.Version = 2
	if _, err := s.Append(ctx, next); err != nil {
		t.Fatalf("appending the right next version: %v", err)
	}
}

func testAtomicBatch(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	if _, err := s.Append(ctx, newEvent("leadflo", "a", 1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	clash := newEvent("leadflo", "a", 2)
	clash.Version = 1
	_, err := s.Append(ctx, newEvent("leadflo", "b", 1), newEvent("leadflo", "c", 1), clash)
	if !errors.Is(err, domain.ErrVersionConflict) {
		t.Fatalf("err = %v, want a version conflict", err)
	}
	all, err := s.ReadAll(ctx, 0, 100, eventstore.Filter{})
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	if len(all) != 1 {
		t.Fatalf("log has %d events after a failed batch, want 1: a batch commits whole or not at all", len(all))
	}
}

func testReadAll(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	var want []domain.Event
	for i := 0; i < 25; i++ {
		e := newEvent([]string{"leadflo", "sensei"}[i%2], fmt.Sprint("lead", i%5), i)
		if i%3 == 0 {
			e.Type = domain.LeadUpdated
		}
		stored, err := s.Append(ctx, e)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		want = append(want, stored[0])
	}
	var got []domain.Event
	for after := int64(0); ; {
		page, err := s.ReadAll(ctx, after, 10, eventstore.Filter{})
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Position
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
		t.Fatalf("paged log = %v\nwant %v", ids(got), ids(want))
	}
	filtered, err := s.ReadAll(ctx, want[4].Position, 100, eventstore.Filter{Types: []domain.EventType{domain.LeadUpdated}, Sources: []string{"sensei"}})
	if err != nil {
		t.Fatalf("read filtered: %v", err)
	}
	for _, e := range filtered {
		if e.Type != domain.LeadUpdated || e.Source != "sensei" || e.Position <= want[4].Position {
			t.Fatalf("filter let through %s %s at %d", e.Type, e.Source, e.Position)
		}
	}
	if len(filtered) != 3 { // i = 9, 15, 21
		t.Fatalf("filtered read has %d events, want 3", len(filtered))
	}
	head, err := s.Head(ctx)
	if err != nil || head != want[len(want)-1].Position {
		t.Fatalf("head = %d, %v; want %d", head, err, want[len(want)-1].Position)
	}
}

// consume reads n messages from a subscription, acking each.
func consume(t *testing.T, sub *eventstore.Subscription, n int) []domain.Event {
	t.Helper()
	var got []domain.Event
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case msg := <-sub.Messages:
			e, err := eventstore.DecodeMessage(msg)
			if err != nil {
				t.Fatalf("decode message: %v", err)
			}
			got = append(got, e)
			msg.Ack()
		case <-timeout:
			t.Fatalf("received %d of %d events", len(got), n)
		}
	}
	return got
}

func testConsumerGroupRestart(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	appendMany := func(from, to int) {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := from + w; i < to; i += 8 {
					if _, err := s.Append(ctx, newEvent("leadflo", fmt.Sprint("lead", i%7), i)); err != nil {
						t.Errorf("append: %v", err)
					}
				}
			}(w)
		}
		wg.Wait()
	}
	appendMany(0, 60)
	sub, err := s.Subscribe(ctx, "contract-test", eventstore.SubscribeConfig{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	first := consume(t, sub, 60)
	// Close only once the acks are committed: watermill's subscriber may take Close before an
	// ack it has not looked at yet, and then, rightly, delivers that message again.
	waitForGroup(t, s, "contract-test", first[len(first)-1].Position)
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	appendMany(60, 120)
	sub, err = s.Subscribe(ctx, "contract-test", eventstore.SubscribeConfig{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("subscribe again: %v", err)
	}
	defer sub.Close()
	second := consume(t, sub, 60)
	select {
	case msg := <-sub.Messages:
		t.Fatalf("after a restart the group received %s again or an extra event", msg.UUID)
	case <-time.After(300 * time.Millisecond):
	}
	seen := map[uuid.UUID]bool{}
	lastVersion := map[uuid.UUID]int64{}
	lastPosition := int64(0)
	for _, e := range append(first, second...) {
		if e.Position <= lastPosition {
			t.Fatalf("event %s delivered with position %d after %d: the log is delivered in position order", e.ID, e.Position, lastPosition)
		}
		lastPosition = e.Position
		if seen[e.ID] {
			t.Fatalf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
		if e.Version != lastVersion[e.LeadID]+1 {
			t.Fatalf("lead %s: version %d delivered after %d", e.LeadID, e.Version, lastVersion[e.LeadID])
		}
		lastVersion[e.LeadID] = e.Version
	}
	if len(seen) != 120 {
		t.Fatalf("group saw %d distinct events, want 120", len(seen))
	}
}

func waitForGroup(t *testing.T, s *eventstore.Store, group string, position int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := s.GroupPosition(context.Background(), group)
		if err != nil {
			t.Fatalf("group position: %v", err)
		}
		if pos >= position {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s stays at %d, want %d", group, pos, position)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testPlainSubscriber(t *testing.T, backend string) {
	ctx := context.Background()
	s := openStore(t, eventstoretest.URL(t, backend))
	for i := 0; i < 5; i++ {
		if _, err := s.Append(ctx, newEvent("sensei", "x", i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	// Nothing of ours between watermill and the table: its own subscriber, given our adapters.
	sub, err := wsql.NewSubscriber(s.DB(), wsql.SubscriberConfig{
		ConsumerGroup:  "plain",
		PollInterval:   20 * time.Millisecond,
		SchemaAdapter:  s.SchemaAdapter(),
		OffsetsAdapter: s.OffsetsAdapter(),
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("new subscriber: %v", err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, eventstore.Topic)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for i := 0; i < 5; i++ {
		select {
		case msg := <-msgs:
			want := fmt.Sprintf(`"n":%d`, i)
			if !bytes.Contains(msg.Payload, []byte(want)) || msg.Metadata.Get(eventstore.MetaEventType) != "LeadCaptured" {
				t.Fatalf("message %d: payload %s metadata %v", i, msg.Payload, msg.Metadata)
			}
			msg.Ack()
		case <-time.After(10 * time.Second):
			t.Fatalf("plain subscriber got %d of 5 messages", i)
		}
	}
}

func testMigrateTwice(t *testing.T, backend string) {
	s := openStore(t, eventstoretest.URL(t, backend))
	if _, err := s.Append(context.Background(), newEvent("leadflo", "a", 1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if head, err := s.Head(context.Background()); err != nil || head == 0 {
		t.Fatalf("after a second migrate head = %d, %v; the log must be untouched", head, err)
	}
}

func ids(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID.String()[:8]
	}
	return out
}

// A conflict inside a group commit fails only its own request: the webhooks that shared the
// batch are retried and stored with gap-free versions.
func TestConflictInABatchFailsOnlyItsRequest(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, eventstoretest.URL(t, backend))
			if _, err := s.Append(ctx, newEvent("leadflo", "a", 0)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var conflicts, failures atomic.Int64
			for i := 0; i < 40; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					e := newEvent("leadflo", "b", i)
					if i%10 == 0 {
						e = newEvent("leadflo", "a", i)
						e.Version = 1 // taken
					}
					_, err := s.Append(ctx, e)
					switch {
					case errors.Is(err, domain.ErrVersionConflict) && i%10 == 0:
						conflicts.Add(1)
					case err != nil:
						failures.Add(1)
						t.Errorf("append %d: %v", i, err)
					}
				}(i)
			}
			wg.Wait()
			if conflicts.Load() != 4 || failures.Load() != 0 {
				t.Fatalf("conflicts = %d, failures = %d; want 4 and 0", conflicts.Load(), failures.Load())
			}
			stream, err := s.ReadStream(ctx, domain.LeadID("leadflo", "b"))
			if err != nil || len(stream) != 36 {
				t.Fatalf("lead b has %d events (%v), want 36", len(stream), err)
			}
			for i, e := range stream {
				if e.Version != int64(i+1) {
					t.Fatalf("lead b: event %d has version %d", i, e.Version)
				}
			}
		})
	}
}
