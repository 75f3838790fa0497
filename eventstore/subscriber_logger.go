package eventstore

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// subscriberLogger is the log's subscribers' logger: watermill's slog adapter, with two fixes
// for what watermill-sql v3.1.0's polling loop does while the database fails.
//   - A field given again replaces the old one: the loop adds the last error with With at each
//     failed poll, so through a 10 s outage its lines grew from 298 to 678 bytes, five "err"s.
//   - The same error message is logged at most once every errorEvery, the next line saying how
//     many were left out: a commit that fails is retried at once, without back-off, and a full
//     disk wrote 19,585 identical lines in 5 s (scripts/chaos.sh, disk-full).
type subscriberLogger struct {
	out    watermill.LoggerAdapter // holds no fields of its own
	fields watermill.LogFields
	errors *errorThrottle // shared with the loggers With makes
}

const errorEvery = 5 * time.Second

func newSubscriberLogger(log *slog.Logger) watermill.LoggerAdapter {
	return subscriberLogger{out: watermill.NewSlogLogger(log),
		errors: &errorThrottle{last: map[string]time.Time{}, leftOut: map[string]int{}, now: time.Now}}
}

func (l subscriberLogger) Error(msg string, err error, fields watermill.LogFields) {
	log, leftOut := l.errors.take(msg)
	if !log {
		return
	}
	fields = l.fields.Add(fields)
	if leftOut > 0 {
		fields["left_out"] = leftOut
	}
	l.out.Error(msg, err, fields)
}

func (l subscriberLogger) Info(msg string, fields watermill.LogFields) {
	l.out.Info(msg, l.fields.Add(fields))
}

func (l subscriberLogger) Debug(msg string, fields watermill.LogFields) {
	l.out.Debug(msg, l.fields.Add(fields))
}

func (l subscriberLogger) Trace(msg string, fields watermill.LogFields) {
	l.out.Trace(msg, l.fields.Add(fields))
}

func (l subscriberLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return subscriberLogger{out: l.out, fields: l.fields.Add(fields), errors: l.errors}
}

// errorThrottle lets each error message through once every errorEvery, counting the others.
type errorThrottle struct {
	mu      sync.Mutex
	last    map[string]time.Time
	leftOut map[string]int
	now     func() time.Time
}

// take reports whether msg may be logged now, and how many of it were left out since the last.
func (t *errorThrottle) take(msg string) (log bool, leftOut int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if last, ok := t.last[msg]; ok && now.Sub(last) < errorEvery {
		t.leftOut[msg]++
		return false, 0
	}
	t.last[msg], leftOut = now, t.leftOut[msg]
	delete(t.leftOut, msg)
	return true, leftOut
}
