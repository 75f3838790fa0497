package sinks

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// SinkPatch changes a sink in place: a field left out (nil) stays as it is. A sink's type,
// mode and key cannot change (they decide what it has written); its secret changes by
// rotation (RotateSecret), its status by pause and resume.
type SinkPatch struct {
	Name      *string    `json:"name"`
	URL       *string    `json:"url"`
	Filter    *Filter    `json:"filter"`
	RateLimit *RateLimit `json:"rate_limit"`
	Mapping   *Mapping   `json:"mapping"`
}

// apply checks the patch against the sink's type and returns the sink changed, naming the
// first field in error.
func (p SinkPatch) apply(s Sink) (Sink, error) {
	if p.Name != nil {
		if strings.TrimSpace(*p.Name) == "" {
			return s, invalid("Invalid name: must not be empty")
		}
		s.Name = *p.Name
	}
	if p.URL != nil {
		if s.Type != TypeWebhook {
			return s, invalid("Invalid field: url is for webhook sinks; a %s sink takes its url in config", s.Type)
		}
		if err := checkWebhookURL(*p.URL); err != nil {
			return s, err
		}
		s.URL = *p.URL
	}
	if p.Filter != nil {
		if err := p.Filter.validate(); err != nil {
			return s, err
		}
		s.Filter = *p.Filter
	}
	if (p.RateLimit != nil || p.Mapping != nil) && !isCRM(s.Type) {
		return s, invalid("Invalid field: mapping and rate_limit are for CRM sinks")
	}
	if p.RateLimit != nil {
		if err := p.RateLimit.validate(); err != nil {
			return s, err
		}
		s.RateLimit = *p.RateLimit
	}
	if p.Mapping != nil {
		if len(*p.Mapping) == 0 {
			return s, invalid("Invalid mapping: must map at least one lead field")
		}
		if err := p.Mapping.validate(); err != nil {
			return s, err
		}
		s.Mapping = *p.Mapping
	}
	return s, nil
}

// Update changes a sink's name, url, filter, rate limit or mapping. Its delivery picks the
// change up at once: the registry signals it, and the manager restarts the sink's streams,
// which resume from their saved positions (see Manager.reconcile).
func (r *Registry) Update(ctx context.Context, id uuid.UUID, p SinkPatch) (Sink, error) {
	s, err := r.Sink(ctx, id)
	if err != nil {
		return Sink{}, err
	}
	if s, err = p.apply(s); err != nil {
		return Sink{}, err
	}
	if p.URL != nil {
		if err := r.checkURL(ctx, "url", s.URL); err != nil {
			return Sink{}, err
		}
	}
	filter, _ := json.Marshal(s.Filter)
	mapping, _ := json.Marshal(s.Mapping)
	limit, _ := json.Marshal(s.RateLimit)
	res, err := r.exec(ctx, `UPDATE sinks SET name = ?, url = ?, filter = ?, mapping = ?, rate_limit = ? WHERE id = ? AND deleted_at IS NULL`,
		s.Name, s.URL, string(filter), string(mapping), string(limit), id.String())
	if err := affectedOne(res, err, "sink", id); err != nil {
		return Sink{}, fmt.Errorf("update: %w", err)
	}
	r.edits.add(id)
	r.signal()
	return r.Sink(ctx, id)
}

// settings fingerprints what a running stream was started with (where and how it delivers,
// and with which secrets): the manager restarts a stream whose sink's settings changed.
// A hash, so the manager keeps no second copy of the credentials.
func (s Sink) settings() string {
	b, _ := json.Marshal([]any{s.URL, s.Secret, s.OldSecret, s.OldSecretExpiresAt, s.Filter, s.Mode, s.RecordKey,
		string(s.Config), s.Mapping, s.RateLimit})
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// edits counts the changes made to each sink through one registry. A stream of this process
// sends nothing once its sink's count moved past the one it started with, so no event is sent
// with the old settings after a change was answered; the manager restarts the stream with the
// new ones. Other processes notice the change by its settings, at their next reconcile.
type edits struct {
	mu sync.Mutex
	n  map[uuid.UUID]int64
}

func (e *edits) of(id uuid.UUID) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[id]
}

func (e *edits) add(id uuid.UUID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[uuid.UUID]int64{}
	}
	e.n[id]++
}
