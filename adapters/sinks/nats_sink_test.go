package sinks_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

const natsSubject = "leadledger.events"

// A nats sink publishes every event, as the webhook body, to its JetStream subject with
// Nats-Msg-Id the event id: a JetStream consumer reads one message per event, each lead's in
// position order; a replay of the whole log within the duplicate window stores nothing more.
func TestNATSSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		server := startNATSServer(t)
		l := openLedger(t, url, fastConfig())
		events := l.appendEvents(t, "leadflo", 30, 4)
		sink, err := l.registry.Create(context.Background(), sinks.NewSink{Name: "stream", Type: sinks.TypeNATS, Start: "beginning",
			Config: rawConfig(t, map[string]string{"url": server, "subject": natsSubject})})
		if err != nil {
			t.Fatalf("create nats sink: %v", err)
		}
		last := events[len(events)-1].Position
		waitFor(t, "the sink to publish the log", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= last })
		if s := l.sink(t, sink.ID); s.Status != sinks.StatusActive || s.Delivered != int64(len(events)) || s.Failed != 0 {
			t.Errorf("sink: status %s, %d delivered, %d failed (%s); want active, %d delivered", s.Status, s.Delivered, s.Failed, s.LastError, len(events))
		}

		js := jetStream(t, server)
		checkPublished(t, readSubject(t, js, len(events)), events)

		rp, err := l.registry.StartReplay(context.Background(), sink.ID, sinks.NewReplay{FromPosition: ptr(int64(0))})
		if err != nil {
			t.Fatalf("start replay: %v", err)
		}
		waitFor(t, "the replay to complete", 20*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		if rp = l.replayNow(t, rp); rp.Delivered != int64(len(events)) || rp.Failed != 0 {
			t.Errorf("replay: %d delivered, %d failed; want every event published again", rp.Delivered, rp.Failed)
		}
		info := streamInfo(t, js)
		if info.State.Msgs != uint64(len(events)) || info.State.LastSeq != uint64(len(events)) {
			t.Errorf("after the replay the stream holds %d messages (last sequence %d), want the %d events once each",
				info.State.Msgs, info.State.LastSeq, len(events))
		}
	})
}

// natsBody is what a message carries: the webhook body.
type natsBody struct {
	ID       uuid.UUID        `json:"id"`
	Type     domain.EventType `json:"type"`
	Position int64            `json:"position"`
	LeadID   uuid.UUID        `json:"lead_id"`
	Source   string           `json:"source"`
	Vendor   string           `json:"vendor"`
	Data     domain.LeadData  `json:"data"`
}

// checkPublished asserts that the messages are the events, once each, with Nats-Msg-Id the
// event id and the event as body, each lead's in position order (the contract's order: leads
// go out in parallel, so the log's order across leads is not kept).
func checkPublished(t *testing.T, msgs []*nats.Msg, events []domain.Event) {
	t.Helper()
	want := map[uuid.UUID]domain.Event{}
	for _, e := range events {
		want[e.ID] = e
	}
	last := map[uuid.UUID]int64{}
	for _, m := range msgs {
		var b natsBody
		if err := json.Unmarshal(m.Data, &b); err != nil {
			t.Fatalf("message body %s: %v", m.Data, err)
		}
		e, ok := want[b.ID]
		if !ok {
			t.Errorf("message of event %s (position %d): not an event of the log, or published twice", b.ID, b.Position)
			continue
		}
		delete(want, b.ID)
		if id := m.Header.Get(nats.MsgIdHdr); id != e.ID.String() {
			t.Errorf("event %s published with Nats-Msg-Id %q", e.ID, id)
		}
		if b.Position != e.Position || b.LeadID != e.LeadID || b.Type != e.Type || b.Source != e.Source || b.Vendor != e.Vendor ||
			b.Data.Name != e.Data.Name || b.Data.ExternalID != e.Data.ExternalID {
			t.Errorf("event %s published as %+v, want the event's own fields", e.ID, b)
		}
		if b.Position < last[b.LeadID] {
			t.Errorf("lead %s: position %d published after %d", b.LeadID, b.Position, last[b.LeadID])
		}
		last[b.LeadID] = b.Position
	}
	for _, e := range want {
		t.Errorf("event %s (position %d) was not published", e.ID, e.Position)
	}
}

// readSubject reads n messages of the subject from the start with an ordered consumer, in the
// stream's order.
func readSubject(t *testing.T, js nats.JetStreamContext, n int) []*nats.Msg {
	t.Helper()
	sub, err := js.SubscribeSync(natsSubject, nats.OrderedConsumer(), nats.DeliverAll())
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	msgs := make([]*nats.Msg, 0, n)
	for range n {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("message %d of %d: %v", len(msgs)+1, n, err)
		}
		msgs = append(msgs, m)
	}
	if info := streamInfo(t, js); info.State.Msgs != uint64(n) {
		t.Errorf("the stream holds %d messages, want %d", info.State.Msgs, n)
	}
	return msgs
}

func streamInfo(t *testing.T, js nats.JetStreamContext) *nats.StreamInfo {
	t.Helper()
	name, err := js.StreamNameBySubject(natsSubject)
	if err != nil {
		t.Fatalf("no stream stores %s: %v", natsSubject, err)
	}
	info, err := js.StreamInfo(name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return info
}

func jetStream(t *testing.T, url string) nats.JetStreamContext {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	return js
}

// startNATSServer runs nats-server with JetStream on a free loopback port, its store in the
// test's temporary folder, and returns its URL once JetStream answers; the server is killed
// when the test ends. Without the binary the test fails: a skipped sink test would pass CI
// untested.
func startNATSServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server" // Debian's, not on every PATH
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nats-server is not installed: install the Debian package nats-server (apt-get install nats-server)")
		}
	}
	port := strconv.Itoa(freeTCPPort(t))
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", port, "-sd", t.TempDir())
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	url := "nats://127.0.0.1:" + port
	waitFor(t, "nats-server's JetStream to answer", 10*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("nats-server exited:\n%s", out.String())
		default:
		}
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err != nil {
			return false
		}
		defer nc.Close()
		js, err := nc.JetStream(nats.MaxWait(time.Second))
		if err != nil {
			return false
		}
		_, err = js.AccountInfo()
		return err == nil
	})
	return url
}

// freeTCPPort is a loopback port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
