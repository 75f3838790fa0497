package eventstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// What watermill-sql's polling loop does while the database fails: With the last error at each
// failed poll, and the same error at once again and again. The lines keep one "err", and the
// same error is written once per errorEvery, the next line counting those left out.
func TestSubscriberLoggerUnderAFailingDatabase(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	l := newSubscriberLogger(slog.New(slog.NewJSONHandler(&buf, nil))).(subscriberLogger)
	l.errors.now = func() time.Time { return now }

	var logger watermill.LoggerAdapter = l.With(watermill.LogFields{"topic": "events"})
	for i := range 5 {
		logger = logger.With(watermill.LogFields{"err": "poll failed " + strings.Repeat("!", i)})
	}
	for range 1000 {
		logger.Error("could not commit tx for querying message", errors.New("disk I/O error"), nil)
	}
	logger.Error("another failure", errors.New("x"), nil) // a different message has its own turn
	now = now.Add(errorEvery)
	logger.Error("could not commit tx for querying message", errors.New("disk I/O error"), nil)

	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Count(line, `"err":`) != 1 {
			t.Errorf("a line does not carry exactly one err: %s", line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (the first, the other message, one a period later):\n%s", len(lines), buf.String())
	}
	if lines[0]["err"] != "poll failed !!!!" || lines[0]["topic"] != "events" || lines[0]["left_out"] != nil {
		t.Errorf("first line: %v, want the last err, the topic, nothing left out", lines[0])
	}
	if lines[1]["msg"] != "another failure" {
		t.Errorf("second line: %v, want the other message", lines[1])
	}
	if lines[2]["left_out"] != 999.0 {
		t.Errorf("line a period later: %v, want left_out 999", lines[2])
	}
}
