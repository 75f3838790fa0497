package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// Apply folds one event into a lead (the zero Lead when the lead is new) and says whether the
// lead changed, and why not. It is pure: the same lead and event always give the same result.
//
// Rules: an event whose content was already applied is a duplicate (WhatConverts sends the same
// update from each of its webhooks). Otherwise every field is merged on its own, by the
// vendor's time (last_updated where the vendor sends one, else the event's time): a value
// replaces the current one unless the current one is newer. So an update that arrives before
// its lead's "new" creates the lead, and the late "new" fills only what is still empty or
// older. An event that changes nothing is stale if it is older than the lead, else a duplicate.
func Apply(l Lead, e Event) (Lead, Outcome) {
	l = l.clone()
	if l.EventCount == 0 {
		l.ID, l.Source, l.Vendor, l.CreatedAt = e.LeadID, e.Source, e.Vendor, e.ReceivedAt
	}
	l.EventCount++
	l.LastPosition = max(l.LastPosition, e.Position)

	digest := contentDigest(e)
	if slices.Contains(l.Seen, digest) {
		return l, Outcome{SkipReason: SkipDuplicate}
	}
	clock, times := eventClock(e), vendorTimes{}
	newest := l.newestClock(times)
	m := merger{lead: &l, clock: clock, times: times}
	m.apply(e)
	if !m.changed {
		if newest != "" && times.compare(clock, newest) < 0 {
			return l, Outcome{SkipReason: SkipStale}
		}
		return l, Outcome{SkipReason: SkipDuplicate}
	}
	l.Seen = append(l.Seen, digest)
	l.UpdatedAt = e.ReceivedAt
	return l, Outcome{Applied: true}
}

// eventClock is the vendor's time of an event's content.
func eventClock(e Event) string {
	if e.Data.VendorUpdatedAt != "" {
		return e.Data.VendorUpdatedAt
	}
	return e.OccurredAt
}

// contentDigest identifies what an event says, whatever the bytes around it.
func contentDigest(e Event) string {
	data, _ := json.Marshal(e.Data) // LeadData always marshals; maps are sorted
	sum := sha256.Sum256(append([]byte(e.Type+"\n"), data...))
	return hex.EncodeToString(sum[:])
}

func (l Lead) newestClock(times vendorTimes) string {
	newest := ""
	for _, c := range l.Clocks {
		if newest == "" || times.compare(c, newest) > 0 {
			newest = c
		}
	}
	return newest
}

// clone copies the lead's maps and slices, so Apply never changes the lead it was given.
func (l Lead) clone() Lead {
	l.Attribution = cloneMap(l.Attribution)
	l.CustomFields = cloneMap(l.CustomFields)
	l.Clocks = cloneMap(l.Clocks)
	l.Conversations = slices.Clone(l.Conversations)
	l.Seen = slices.Clone(l.Seen)
	return l
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// vendorTimeLayouts are the forms vendors send times in; zone-less ones are read as UTC, which
// is right for comparing times of one vendor with each other.
var vendorTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

// vendorTimes orders vendor times, parsing each distinct one once: an event's clock is compared
// with every field's, and parsing them again for each comparison was most of Apply's time.
type vendorTimes map[string]vendorTime

type vendorTime struct {
	t  time.Time
	ok bool
}

// compare orders two vendor times; times it cannot read compare as text.
func (c vendorTimes) compare(a, b string) int {
	if a == b {
		return 0
	}
	ta, tb := c.parse(a), c.parse(b)
	if ta.ok && tb.ok {
		return ta.t.Compare(tb.t)
	}
	return bytes.Compare([]byte(a), []byte(b))
}

func (c vendorTimes) parse(s string) vendorTime {
	if v, ok := c[s]; ok {
		return v
	}
	t, ok := parseVendorTime(s)
	c[s] = vendorTime{t, ok}
	return c[s]
}

func parseVendorTime(s string) (time.Time, bool) {
	for _, layout := range vendorTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
