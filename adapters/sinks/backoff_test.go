package sinks

import (
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	b := Backoff{}
	b.setDefaults()
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 10: 512 * time.Second, 11: 15 * time.Minute, 20: 15 * time.Minute, 1000: 15 * time.Minute} {
		for range 20 {
			if got := b.wait(n, 0); got < want/2 || got > want {
				t.Fatalf("wait after attempt %d = %s, want within [%s, %s]", n, got, want/2, want)
			}
		}
	}
	fast := Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	for n := 1; n <= 100; n++ { // past the point where Base<<n overflows
		if got := fast.wait(n, 0); got <= 0 || got > fast.Max {
			t.Fatalf("wait after attempt %d = %s, want within (0, %s]", n, got, fast.Max)
		}
	}
	if got := b.wait(3, 7*time.Second); got != 7*time.Second {
		t.Errorf("wait with Retry-After 7s = %s, want exactly 7s", got)
	}
	if got := b.wait(3, 48*time.Hour); got != time.Hour {
		t.Errorf("wait with Retry-After 48h = %s, want it capped at 1h", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, "-1": 0, "soon": 0,
		"Tue, 24 Nov 2026 12:00:30 GMT": 30 * time.Second, "Tue, 24 Nov 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", v, got, want)
		}
	}
}
