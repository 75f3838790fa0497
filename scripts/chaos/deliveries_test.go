package main

import (
	"strings"
	"testing"
)

// The order check tells a resend (allowed) from an event first delivered after a later one of
// its lead (a failure), and catches a delivery at the wrong position.
func TestCheckOrder(t *testing.T) {
	log := map[string]int64{"a1": 1, "b2": 2, "a3": 3, "a4": 4}
	for _, c := range []struct {
		name string
		got  []delivery
		fail string
	}{
		{"in order, with resends", []delivery{{"a1", "A", 1, 0}, {"b2", "B", 2, 0}, {"a3", "A", 3, 0}, {"a1", "A", 1, 0}, {"a3", "A", 3, 0}, {"a4", "A", 4, 0}}, ""},
		{"a lead's event after a later one", []delivery{{"a1", "A", 1, 0}, {"a4", "A", 4, 0}, {"a3", "A", 3, 0}}, "1 events delivered out of order"},
		{"other leads interleave freely", []delivery{{"a3", "A", 3, 0}, {"b2", "B", 2, 0}}, ""},
		{"wrong position", []delivery{{"a1", "A", 2, 0}}, "position other than"},
	} {
		e := &env{res: &result{}}
		e.checkOrder(c.got, log)
		failures := strings.Join(e.res.failures, "; ")
		if (c.fail == "") != (failures == "") || !strings.Contains(failures, c.fail) {
			t.Errorf("%s: failures %q, want %q", c.name, failures, c.fail)
		}
	}
}
