package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// sseMessage is one message of an event stream: an event, or a comment.
type sseMessage struct {
	id, event, data, comment string
}

// sseClient reads an event stream with a real HTTP client.
type sseClient struct {
	resp *http.Response
	msgs chan sseMessage
}

func openStream(t *testing.T, url, token string, headers map[string]string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, msgs: make(chan sseMessage, 100)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(c.msgs)
		lines := bufio.NewScanner(resp.Body)
		lines.Buffer(nil, 1<<20)
		var m sseMessage
		for lines.Scan() {
			line := lines.Text()
			field, value, _ := strings.Cut(line, ": ")
			switch {
			case line == "":
				if m != (sseMessage{}) {
					c.msgs <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, ":"):
				m.comment = strings.TrimSpace(line[1:])
			case field == "id":
				m.id = value
			case field == "event":
				m.event = value
			case field == "data":
				m.data = value
			}
		}
	}()
	return c
}

// next is the next event, skipping comments; it fails after a few seconds.
func (c *sseClient) next(t *testing.T) sseMessage {
	t.Helper()
	for {
		m := c.nextMessage(t, 5*time.Second)
		if m.comment == "" {
			return m
		}
	}
}

func (c *sseClient) nextMessage(t *testing.T, wait time.Duration) sseMessage {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			t.Fatal("the stream ended")
		}
		return m
	case <-time.After(wait):
		t.Fatalf("no message within %s", wait)
	}
	return sseMessage{}
}

func fastStreams(c *httpapi.Config) {
	c.StreamPoll = 20 * time.Millisecond
	c.StreamKeepAlive = 300 * time.Millisecond
}

// The stream sends the history after a position, then events appended after the client
// connected, each as GET /v1/events shows it; it resumes from Last-Event-ID, narrows by type and
// source, keeps alive with comments, and wants a token.
func TestEventStream(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedgerWith(t, eventstoretest.URL(t, backend), fastStreams)
			leadflo := func() {
				t.Helper()
				if status, reply := l.post(t, "/v1/ingest/leadflo", exampleBody(t, "leadflo-visitor-created.json"),
					header("X-Webhook-Secret", leadfloSecret)); status != 200 {
					t.Fatalf("ingest: %d %v", status, reply)
				}
			}
			conversica := func() {
				t.Helper()
				if status, reply := l.post(t, "/v1/ingest/conversica", exampleBody(t, "conversica-lead.json"),
					basic("conversica", conversicaPass)); status != 200 {
					t.Fatalf("ingest: %d %v", status, reply)
				}
			}
			leadflo()
			conversica()
			stream := l.url + "/v1/events/stream"

			all := openStream(t, stream+"?after=0", auditorToken, nil)
			if m := all.nextMessage(t, 5*time.Second); m.comment == "" {
				t.Fatalf("first message %+v, want the opening comment", m)
			}
			listed := l.events(t)
			for _, want := range listed {
				expectEvent(t, all.next(t), want)
			}
			conversica() // appended after the client connected
			listed = l.events(t)
			expectEvent(t, all.next(t), listed[2])
			if m := all.nextMessage(t, 3*time.Second); m.comment != "keep-alive" {
				t.Fatalf("after a quiet spell: %+v, want a keep-alive comment", m)
			}

			// Resume: Last-Event-ID wins over the URL's after, as an EventSource reconnects.
			resumed := openStream(t, stream+"?after=0", operatorToken, map[string]string{"Last-Event-ID": "2"})
			expectEvent(t, resumed.next(t), listed[2])
			// Filters, as GET /v1/events: conversica's events only, live ones included.
			bySource := openStream(t, stream+"?source=conversica", auditorToken, nil)
			expectEvent(t, bySource.next(t), listed[1])
			expectEvent(t, bySource.next(t), listed[2])
			byType := openStream(t, stream+"?type=ConversationEnded,LeadUpdated", auditorToken, nil)
			leadflo()
			conversica()
			listed = l.events(t)
			expectEvent(t, bySource.next(t), listed[4])
			for {
				if m := byType.nextMessage(t, 2*time.Second); m.comment == "keep-alive" {
					break // the filtered stream passed the new events by, and went quiet
				} else if m.comment == "" {
					t.Fatalf("type filter sent %+v", m)
				}
			}

			for _, c := range []struct {
				name, token, query string
				headers            map[string]string
				want               int
			}{
				{"no token", "", "", nil, 401},
				{"wrong token", "guess", "", nil, 401},
				{"bad after", auditorToken, "?after=-1", nil, 400},
				{"bad Last-Event-ID", auditorToken, "", map[string]string{"Last-Event-ID": "x"}, 400},
				{"unknown type", auditorToken, "?type=Nope", nil, 400},
			} {
				req, _ := http.NewRequest(http.MethodGet, stream+c.query, nil)
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				for k, v := range c.headers {
					req.Header.Set(k, v)
				}
				if status, reply := do(t, req); status != c.want || reply["message"] == "" {
					t.Errorf("%s: %d %v, want %d", c.name, status, reply, c.want)
				}
			}
		})
	}
}

func expectEvent(t *testing.T, m sseMessage, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(m.data), &got); err != nil {
		t.Fatalf("data of %+v: %v", m, err)
	}
	if m.id != fmt.Sprint(want["position"]) || m.event != want["type"] || !reflect.DeepEqual(got, want) {
		t.Fatalf("stream sent id %s event %s data %v\nwant %v", m.id, m.event, got, want)
	}
}

// A stream outlives the server's read and write timeouts, and a graceful shutdown ends it at
// once rather than wait for the client (serve.go registers CloseStreams).
func TestEventStreamTimeoutsAndShutdown(t *testing.T) {
	l := newLedgerWith(t, eventstoretest.URL(t, "sqlite"), fastStreams)
	srv := &http.Server{Handler: l.api, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}
	srv.RegisterOnShutdown(l.api.CloseStreams)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	client := openStream(t, "http://"+ln.Addr().String()+"/v1/events/stream", auditorToken, nil)
	time.Sleep(time.Second) // well past both timeouts
	if status, _ := l.post(t, "/v1/ingest/leadflo", exampleBody(t, "leadflo-visitor-created.json"),
		header("X-Webhook-Secret", leadfloSecret)); status != 200 {
		t.Fatal("ingest failed")
	}
	expectEvent(t, client.next(t), l.events(t)[0])

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	for m := range client.msgs {
		if m.comment == "" {
			t.Fatalf("after shutdown: %+v", m)
		}
	}
}
