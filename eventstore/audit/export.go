package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// An export is NDJSON: one line per event in position order, then the checkpoints of the
// exported log with the keys that check them. It carries every stored field, so an import
// reproduces the same ids, positions, versions and hashes, and verify checks a file as it
// checks a store. Each event line carries the hash before it, so a range checks on its own.

// exportLine is one line of an export; Kind says which fields it has.
type exportLine struct {
	Kind string `json:"kind"` // event | checkpoint

	// event
	PrevHash   string           `json:"prev_hash,omitempty"` // the hash of the event before (all zeros: the log's first)
	ID         *uuid.UUID       `json:"id,omitempty"`
	Position   int64            `json:"position,omitempty"`
	Version    int64            `json:"version,omitempty"`
	Type       domain.EventType `json:"type,omitempty"`
	LeadID     *uuid.UUID       `json:"lead_id,omitempty"`
	Source     string           `json:"source,omitempty"`
	Vendor     string           `json:"vendor,omitempty"`
	ReceivedAt *time.Time       `json:"received_at,omitempty"`
	OccurredAt string           `json:"occurred_at,omitempty"`
	Data       *domain.LeadData `json:"data,omitempty"`
	Raw        *string          `json:"raw,omitempty"`        // the body, when it is UTF-8...
	RawBase64  string           `json:"raw_base64,omitempty"` // ...else in base64: byte for byte either way
	RawSHA256  string           `json:"raw_sha256,omitempty"`
	Hash       string           `json:"hash,omitempty"`
	Erased     bool             `json:"erased,omitempty"` // the lead's personal data was erased: no raw, no data
	// ErasurePosition is where the LeadErased of an erased event is, so that a range that
	// ends before it still accounts for the erasure.
	ErasurePosition int64 `json:"erasure_position,omitempty"`

	// checkpoint
	TreeSize    uint64     `json:"tree_size,omitempty"`
	Root        string     `json:"root,omitempty"`
	SignedAt    *time.Time `json:"signed_at,omitempty"`
	KeyID       string     `json:"key_id,omitempty"`
	Note        string     `json:"note,omitempty"`
	VerifierKey string     `json:"verifier_key,omitempty"`
}

func eventLine(prev string, e domain.Event) exportLine {
	l := exportLine{Kind: "event", PrevHash: prev, ID: &e.ID, Position: e.Position, Version: e.Version, Type: e.Type, LeadID: &e.LeadID,
		Source: e.Source, Vendor: e.Vendor, ReceivedAt: &e.ReceivedAt, OccurredAt: e.OccurredAt, Data: &e.Data,
		RawSHA256: e.RawSHA256, Hash: e.Hash}
	if e.Erased {
		l.Erased, l.Data = true, nil
		return l
	}
	if utf8.Valid(e.Raw) {
		raw := string(e.Raw)
		l.Raw = &raw
	} else {
		l.RawBase64 = base64.StdEncoding.EncodeToString(e.Raw)
	}
	return l
}

func (l exportLine) event() (domain.Event, error) {
	if l.ID == nil || l.LeadID == nil || l.ReceivedAt == nil || (l.Data == nil && !l.Erased) || l.Position <= 0 {
		return domain.Event{}, errors.New("an event line lacks id, lead_id, received_at, data or position")
	}
	e := domain.Event{ID: *l.ID, Position: l.Position, Version: l.Version, Type: l.Type, LeadID: *l.LeadID,
		Source: l.Source, Vendor: l.Vendor, ReceivedAt: *l.ReceivedAt, OccurredAt: l.OccurredAt,
		RawSHA256: l.RawSHA256, Hash: l.Hash, Erased: l.Erased}
	if l.Erased {
		return e, nil
	}
	e.Data = *l.Data
	switch {
	case l.Raw != nil:
		e.Raw = []byte(*l.Raw)
	default:
		raw, err := base64.StdEncoding.DecodeString(l.RawBase64)
		if err != nil {
			return domain.Event{}, fmt.Errorf("event %d: raw_base64: %w", l.Position, err)
		}
		e.Raw = raw
	}
	return e, nil
}

// Export writes the events after position after, up to position to (0: the head), and, for an
// export from the start, the checkpoints of the log it holds.
// progress, if not nil, is called after every page with the events written so far.
func Export(ctx context.Context, w io.Writer, tree *Tree, after, to int64, progress func(int64)) (events int64, err error) {
	out := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(out)
	prev, err := tree.store.HashUpTo(ctx, after)
	if err != nil {
		return 0, err
	}
	for position := after; ; {
		page, err := tree.store.ReadAll(ctx, position, 1000, eventstore.Filter{UpTo: to})
		if err != nil {
			return events, err
		}
		for _, e := range page {
			line := eventLine(prev, e)
			if e.Erased {
				if line.ErasurePosition, err = tree.store.ErasurePosition(ctx, e.LeadID, e.Position); err != nil {
					return events, err
				}
			}
			if err := enc.Encode(line); err != nil {
				return events, err
			}
			prev, position = e.Hash, e.Position
			events++
		}
		if progress != nil {
			progress(events)
		}
		if len(page) < 1000 {
			break
		}
	}
	if after == 0 {
		if err := exportCheckpoints(ctx, enc, tree, uint64(events)); err != nil {
			return events, err
		}
	}
	return events, out.Flush()
}

// exportCheckpoints writes the checkpoints of trees no larger than the exported log.
func exportCheckpoints(ctx context.Context, enc *json.Encoder, tree *Tree, events uint64) error {
	keys, err := tree.verifierKeysByID(ctx)
	if err != nil {
		return err
	}
	for size := uint64(0); ; {
		page, err := tree.CheckpointsAfter(ctx, size, 1000)
		if err != nil {
			return err
		}
		for _, c := range page {
			if c.TreeSize > events {
				return nil
			}
			if err := enc.Encode(exportLine{Kind: "checkpoint", TreeSize: c.TreeSize, Root: hex.EncodeToString(c.Root),
				SignedAt: &c.SignedAt, KeyID: c.KeyID, Note: c.Note, VerifierKey: keys[c.KeyID]}); err != nil {
				return err
			}
			size = c.TreeSize
		}
		if len(page) < 1000 {
			return nil
		}
	}
}

// exportReader reads an export a line at a time.
type exportReader struct {
	dec  *json.Decoder
	line int
}

// next reads the next line; io.EOF at the end.
func (r *exportReader) next() (exportLine, error) {
	var l exportLine
	err := r.dec.Decode(&l)
	r.line++
	if err != nil && !errors.Is(err, io.EOF) {
		return l, fmt.Errorf("export line %d: %w", r.line, err)
	}
	return l, err
}

// VerifyExport checks an export as Verify checks a store: every raw body, the chain from the
// first event's previous hash, and, for an export from the start, every checkpoint's signature (by
// the keys the file names: compare them with the key you hold) and root. open is called twice:
// the checkpoints come last, so a second pass builds the tree at their sizes.
func VerifyExport(open func() (io.ReadCloser, error)) (Verified, []string, error) {
	var v Verified
	var cps []Checkpoint
	keys := map[string]string{}
	fromStart := true // an export with no event is the empty log's
	claims := erasureClaims{}
	err := readExport(open, func(prev string) error {
		fromStart = prev == eventstore.GenesisHash
		return nil
	}, func(prev string, e domain.Event, erasureAt int64) error {
		if err := checkEvent(prev, e); err != nil {
			return err
		}
		claims.see(e, erasureAt)
		v.Position = e.Position
		v.count(e)
		return nil
	}, func(l exportLine) error {
		root, err := hex.DecodeString(l.Root)
		if err != nil {
			return fmt.Errorf("checkpoint of %d events: root: %w", l.TreeSize, err)
		}
		cps = append(cps, Checkpoint{TreeSize: l.TreeSize, Root: root, KeyID: l.KeyID, Note: l.Note})
		keys[l.KeyID] = l.VerifierKey
		return nil
	})
	if err == nil {
		err = claims.settle(v.Position)
	}
	if err != nil || !fromStart {
		return v, nil, err
	}
	verifiers, err := verifiers(keys)
	if err != nil {
		return v, nil, err
	}
	walk := &checkpointWalk{verifiers: verifiers, next: cps}
	built := newTreeBuilder()
	err = readExport(open, nil, func(_ string, e domain.Event, _ int64) error {
		if err := built.append(e.Hash); err != nil {
			return err
		}
		if err := walk.at(context.Background(), built.r.End(), built); err != nil {
			return &eventstore.BrokenChainError{Position: e.Position, What: "checkpoint", Detail: err.Error()}
		}
		return nil
	}, nil)
	if err == nil {
		if err = walk.beyond(uint64(v.Events)); err != nil {
			err = &eventstore.BrokenChainError{Position: v.Position, What: "checkpoint", Detail: err.Error()}
		}
	}
	if v.Root, _ = built.root(); err != nil {
		return v, nil, err
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	return v, ids, nil
}

// readExport reads an export, giving each event with the hash before it (first, when not nil,
// gets the first event's), and each checkpoint.
func readExport(open func() (io.ReadCloser, error), first func(prev string) error, event func(prev string, e domain.Event, erasureAt int64) error,
	checkpoint func(exportLine) error) error {
	f, err := open()
	if err != nil {
		return err
	}
	defer f.Close()
	r := &exportReader{dec: json.NewDecoder(bufio.NewReaderSize(f, 1<<16))}
	prev := ""
	for {
		l, err := r.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch l.Kind {
		case "event":
			e, err := l.event()
			if err != nil {
				return fmt.Errorf("export line %d: %w", r.line, err)
			}
			switch {
			case prev == "" && first != nil:
				if err := first(l.PrevHash); err != nil {
					return err
				}
			case prev != "" && l.PrevHash != prev:
				return &eventstore.BrokenChainError{Position: e.Position, What: "hash",
					Detail: "the line's prev_hash " + l.PrevHash + " is not the hash before it, " + prev}
			}
			if prev == "" {
				prev = l.PrevHash
			}
			if err := event(prev, e, l.ErasurePosition); err != nil {
				return err
			}
			prev = e.Hash
		case "checkpoint":
			if checkpoint != nil {
				if err := checkpoint(l); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("export line %d: unknown kind %q", r.line, l.Kind)
		}
	}
}

// Import writes an export from the start into an empty store, a batch of events per
// transaction, each continuing the chain, and its checkpoints, each checked with its key.
func Import(ctx context.Context, tree *Tree, open func() (io.ReadCloser, error)) (int64, error) {
	head, err := tree.store.Head(ctx)
	if err != nil {
		return 0, err
	}
	if head != 0 {
		return 0, fmt.Errorf("import: the store is not empty (its head is position %d): import into a new database", head)
	}
	var batch []domain.Event
	var n int64
	flush := func() error {
		err := tree.store.Import(ctx, batch)
		n += int64(len(batch))
		batch = batch[:0]
		return err
	}
	err = readExport(open, func(prev string) error {
		if prev != eventstore.GenesisHash {
			return errors.New("import: the export does not start at the log's first event (its first line's prev_hash is not 64 zeros); only an export from the start imports")
		}
		return nil
	}, func(_ string, e domain.Event, _ int64) error {
		if batch = append(batch, e); len(batch) == 500 {
			return flush()
		}
		return nil
	}, func(l exportLine) error {
		if err := flush(); err != nil {
			return err
		}
		root, err := hex.DecodeString(l.Root)
		if err != nil || l.SignedAt == nil {
			return fmt.Errorf("import: the checkpoint of %d events lacks its root or signed_at", l.TreeSize)
		}
		c := Checkpoint{TreeSize: l.TreeSize, Root: root, SignedAt: *l.SignedAt, KeyID: l.KeyID, Note: l.Note}
		vs, err := verifiers(map[string]string{l.KeyID: l.VerifierKey})
		if err != nil {
			return err
		}
		if err := (&checkpointWalk{verifiers: vs}).check(c, root); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		return tree.saveCheckpoint(ctx, c, l.VerifierKey)
	})
	if err == nil {
		err = flush()
	}
	return n, err
}
