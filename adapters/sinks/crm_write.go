package sinks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/hubspot"
	"github.com/leadledger/leadledger/adapters/sinks/pipedrive"
	"github.com/leadledger/leadledger/adapters/sinks/salesforce"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// crmClient writes records to one CRM (see package crm).
type crmClient interface {
	Upsert(ctx context.Context, records []crm.Record) ([]crm.Outcome, error)
	MaxBatch() int
}

// sinkClient is a CRM sink's client and its pace, shared by the sink's cursors (its live
// delivery and its replays), so together they keep to the sink's rate limit.
type sinkClient struct {
	crmClient
	limiter  *limiter
	failures atomic.Int64 // consecutive failed calls, for the back-off
	config   string       // the config it was built from
	limit    RateLimit    // and the rate limit
}

// client returns the sink's CRM client, built on first use or when the sink's config changed.
func (m *Manager) client(s Sink) (*sinkClient, error) {
	m.clientsMu.Lock()
	defer m.clientsMu.Unlock()
	if c, ok := m.clients[s.ID]; ok && c.config == string(s.Config) && c.limit == s.RateLimit {
		return c, nil
	}
	l := newLimiter(s.RateLimit)
	hc := &http.Client{Transport: limitedTransport{base: m.transport, limiter: l, timeout: m.cfg.Timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c, err := newCRMClient(s, hc)
	if err != nil {
		return nil, err
	}
	sc := &sinkClient{crmClient: c, limiter: l, config: string(s.Config), limit: s.RateLimit}
	m.clients[s.ID] = sc
	return sc, nil
}

func newCRMClient(s Sink, hc *http.Client) (crmClient, error) {
	switch s.Type {
	case TypeHubSpot:
		c, err := decodeConfig[hubspotConfig](s.Config)
		if err != nil {
			return nil, err
		}
		return hubspot.New(hubspot.Config{BaseURL: c.BaseURL, Token: c.Token, IDProperty: c.IDProperty,
			AdoptExisting: s.RecordKey == KeyEmail, HTTPClient: hc})
	case TypeSalesforce:
		c, err := decodeConfig[salesforceConfig](s.Config)
		if err != nil {
			return nil, err
		}
		return salesforce.New(salesforce.Config{InstanceURL: c.InstanceURL, APIVersion: c.APIVersion, Object: c.Object,
			ExternalIDField: c.ExternalIDField, HTTPClient: hc, Auth: salesforce.Auth{Type: c.Auth.Type,
				TokenURL: c.Auth.TokenURL, ClientID: c.Auth.ClientID, ClientSecret: c.Auth.ClientSecret, Token: c.Auth.Token}})
	case TypePipedrive:
		c, err := decodeConfig[pipedriveConfig](s.Config)
		if err != nil {
			return nil, err
		}
		return pipedrive.New(pipedrive.Config{BaseURL: c.BaseURL, Token: c.Token, HTTPClient: hc})
	}
	return nil, fmt.Errorf("sink type %q writes no records", s.Type)
}

// batchResult is what came of writing a batch of records: those found unchanged (not sent),
// those written or rejected (outcomes, at the same index as batch), or a call-level error (the
// batch is tried again), or a daily limit (the sink parks).
type batchResult struct {
	keys      []string // asked for
	unchanged []record
	batch     []record
	outcomes  []crm.Outcome
	err       error
	park      *crm.Throttled
}

// writeKeys writes the records of these keys in their current state, read now, under their
// locks; records as last written are not sent when skipUnchanged.
func (m *Manager) writeKeys(ctx context.Context, s Sink, c *sinkClient, keys []string, skipUnchanged bool) batchResult {
	res := batchResult{keys: keys}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.ID.String() + "/" + k
	}
	unlock, err := m.locks.lock(ctx, names)
	if err != nil {
		res.err = err
		return res
	}
	defer unlock()
	records, err := recordsOf(ctx, m.cfg.Leads, s, keys)
	if err != nil {
		res.err = err
		return res
	}
	known, err := m.registry.identities(ctx, s.ID, keys)
	if err != nil {
		res.err = err
		return res
	}
	for _, r := range records {
		if id, ok := known[r.key]; ok && skipUnchanged && id.hash == r.hash {
			res.unchanged = append(res.unchanged, r)
		} else {
			res.batch = append(res.batch, r)
		}
	}
	if len(res.batch) > 0 {
		res.outcomes, res.park, res.err = m.writeBatch(ctx, s, c, res.batch, known)
	}
	return res
}

// writeBatch writes one batch. Throttling is waited out here (the CRM asked us to slow down,
// nothing is wrong); any other failure comes back after its back-off, for the stream to show.
func (m *Manager) writeBatch(ctx context.Context, s Sink, c *sinkClient, batch []record, known map[string]identity) ([]crm.Outcome, *crm.Throttled, error) {
	records := make([]crm.Record, len(batch))
	for i, r := range batch {
		records[i] = r.crmRecord(known[r.key].externalIDs)
	}
	for throttles := 1; ; throttles++ {
		start, pace := time.Now(), c.limiter.generation()
		outcomes, err := c.Upsert(ctx, records)
		m.metrics.crmCall(s.Type, err, time.Since(start))
		if err == nil && len(outcomes) != len(batch) {
			err = fmt.Errorf("the CRM client answered %d outcomes for %d records", len(outcomes), len(batch))
		}
		var t *crm.Throttled
		switch {
		case err == nil:
			c.failures.Store(0)
			c.limiter.relax(pace)
			return outcomes, nil, nil
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case errors.As(err, &t) && t.Daily:
			return nil, t, nil
		case errors.As(err, &t):
			c.limiter.slowDown()
			if !sleep(ctx, m.cfg.Backoff.wait(min(throttles, 6), t.RetryAfter)) {
				return nil, nil, ctx.Err()
			}
		default:
			n := c.failures.Add(1)
			sleep(ctx, m.cfg.Backoff.wait(int(min(n, 10)), 0))
			return nil, nil, err
		}
	}
}

// sleep waits d, or less when ctx ends; false then.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// writeEventRecord writes one event's record in its current state (a CRM sink in events mode:
// one write per event, in order per lead), and the record its lead left if it changed email.
// A record as last written is not sent again, but by a replay that re-sends everything.
func (m *Manager) writeEventRecord(ctx context.Context, s Sink, e eventstore.Envelope, force bool) result {
	switch {
	case e.Type == domain.LeadErased: // nothing is sent: the identity map forgets the lead (see erasure.go)
		return result{forgotten: []uuid.UUID{e.LeadID}}
	case e.Erased: // its data is gone; the lead, if it came back since, is written by its own events
		return result{}
	}
	keys, err := m.keysOf(ctx, s, []uuid.UUID{e.LeadID})
	if err != nil || len(keys) == 0 {
		return result{err: err} // no lead the sink takes: nothing to write
	}
	return m.writeRecords(ctx, s, keys, force)
}

// writeRecords writes records one attempt's worth (events mode, and dead letters' retries).
func (m *Manager) writeRecords(ctx context.Context, s Sink, keys []string, force bool) result {
	c, err := m.client(s)
	if err != nil {
		return result{err: err}
	}
	res := m.writeKeys(ctx, s, c, keys, !force)
	switch {
	case res.park != nil:
		until := m.parkUntil()
		return result{err: res.park, retryAfter: time.Until(until), parkUntil: until}
	case res.err != nil:
		return result{err: res.err}
	}
	var out result
	now := time.Now()
	for i, r := range res.batch {
		if o := res.outcomes[i]; o.Err != nil {
			out.rejected = append(out.rejected, rejection(s, r, o.Err, now))
			out.err = o.Err
		} else {
			out.synced = append(out.synced, synced{record: r, outcome: o, at: now})
		}
	}
	return out
}
