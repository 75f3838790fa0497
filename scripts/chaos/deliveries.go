package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// delivery is one delivery the receiver acknowledged, in the order it acknowledged them.
type delivery struct {
	ID       string `json:"id"`
	LeadID   string `json:"lead_id"`
	Position int64  `json:"position"`
	At       int64  `json:"at"` // Unix ns
}

func deliveries(receiver string) []delivery {
	resp, err := quick.Get(receiver + "/_deliveries")
	if err != nil {
		abortf("receiver: %v", err)
	}
	defer resp.Body.Close()
	var out []delivery
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var d delivery
		if err := dec.Decode(&d); err == io.EOF {
			return out
		} else if err != nil {
			abortf("receiver: %v", err)
		}
		out = append(out, d)
	}
}

func deliveredCount(receiver string) int {
	resp, err := quick.Get(receiver + "/count")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return n
}

// delivered waits (up to d) until the receiver has every acknowledged event, then checks what
// it got against the log: nothing missing, each lead's events in log order (the first delivery
// of an event never follows a later event of its lead; sending one again is allowed), and each
// at its log position. It notes the figures, with the time every event took to arrive after
// since (the end of the fault, what), and returns the deliveries.
func (e *env) checkDelivered(receiver string, acked []string, log map[string]int64, d time.Duration, since time.Time, what string) []delivery {
	var got []delivery
	missing := func() []string {
		got = deliveries(receiver)
		seen := make(map[string]bool, len(got))
		for _, x := range got {
			seen[x.ID] = true
		}
		var out []string
		for _, id := range acked {
			if !seen[id] {
				out = append(out, id)
			}
		}
		return out
	}
	var left []string
	e.poll(d, func() bool {
		if deliveredCount(receiver) < len(acked) {
			return false // cheap: not all there yet
		}
		left = missing()
		return len(left) == 0
	})
	if left = missing(); len(left) > 0 {
		e.res.undelivered = len(left)
		e.fail("%d acknowledged events not delivered after %s, for example %s", len(left), d, left[0])
	} else {
		e.note("all delivered %.1f s after %s", time.Since(since).Seconds(), what)
	}
	e.checkOrder(got, log)
	return got
}

func (e *env) checkOrder(got []delivery, log map[string]int64) {
	latest := map[string]int64{} // each lead's latest position delivered
	seen := map[string]bool{}
	dups, outOfOrder, misplaced := 0, 0, 0
	for _, x := range got {
		if p, ok := log[x.ID]; ok && p != x.Position {
			misplaced++
		}
		if seen[x.ID] {
			dups++
			continue
		}
		seen[x.ID] = true
		if x.Position < latest[x.LeadID] {
			outOfOrder++
			if outOfOrder == 1 {
				e.fail("lead %s: event at position %d delivered after its event at %d", x.LeadID, x.Position, latest[x.LeadID])
			}
		}
		latest[x.LeadID] = max(latest[x.LeadID], x.Position)
	}
	e.note("out-of-order %d  resent %d", outOfOrder, dups)
	if outOfOrder > 0 {
		e.fail("%d events delivered out of order", outOfOrder)
	}
	if misplaced > 0 {
		e.fail("%d deliveries carry a position other than their event's in the log", misplaced)
	}
}
