// Package audit makes the log provable: it verifies the hash chain, builds the RFC 6962 Merkle
// tree over the events' hashes, signs checkpoints of it and answers inclusion and consistency
// proofs, so that an auditor needs to trust neither the server nor its database.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/leadledger/leadledger/domain"

	"github.com/leadledger/leadledger/eventstore"
)

// Verified is how far a verification got: the events read, the last one's position, and the
// Merkle tree head over every event's hash so far.
type Verified struct {
	Events int64
	// Erased counts the events whose personal data was erased: their raw bodies are gone, so
	// their raw SHA-256s are taken as the chain holds them.
	Erased   int64
	Position int64
	Root     []byte
}

// verifyPage is how many positions one read covers: a page of raw bodies stays a few MB.
var verifyPage = 5000

// keepKeys bounds the lead keys a verification keeps: twice this many, 80 bytes each, at most
// 40 MB. A store with no more leads than this has every key read once, in one pass.
const keepKeys = 250_000

// Verify reads the whole log in position order, in constant memory, and checks each event
// from position from on: its raw body against its raw_sha256, its hash against the chain's
// rule and the hash before it. Events before from are taken on trust (their hashes still
// count in the root). Every checkpoint is checked too: its signature, by the key it names, and
// its root, against the tree of that many events. It returns what it verified, or a
// *eventstore.BrokenChainError naming the first position that fails. progress, if not nil, is
// called after every page.
func Verify(ctx context.Context, tree *Tree, from int64, progress func(Verified)) (Verified, error) {
	checkpoints, err := newCheckpointWalk(ctx, tree)
	if err != nil {
		return Verified{}, err
	}
	built := newTreeBuilder()
	var v Verified
	claims := erasureClaims{}
	prev := eventstore.GenesisHash
	ctx, stop := context.WithCancel(ctx) // an early return stops the reader
	defer stop()
	for page := range readAhead(ctx, tree.store) {
		if page.err != nil {
			return v, page.err
		}
		for _, e := range page.events {
			if e.Position >= from {
				if err := checkEvent(prev, e); err != nil {
					return v, err
				}
				claims.see(e, 0)
			}
			if err := built.append(e.Hash); err != nil {
				return v, &eventstore.BrokenChainError{Position: e.Position, What: "hash", Detail: err.Error()}
			}
			prev, v.Position = e.Hash, e.Position
			v.count(e)
			if err := checkpoints.at(ctx, uint64(v.Events), built); err != nil {
				return v, &eventstore.BrokenChainError{Position: e.Position, What: "checkpoint", Detail: err.Error()}
			}
		}
		if progress != nil {
			progress(v)
		}
	}
	if err := ctx.Err(); err != nil {
		return v, err
	}
	if v.Root, err = built.root(); err != nil {
		return v, err
	}
	if err := checkpoints.beyond(uint64(v.Events)); err != nil {
		return v, &eventstore.BrokenChainError{Position: v.Position, What: "checkpoint", Detail: err.Error()}
	}
	return v, claims.settle(v.Position)
}

// chainPage is a page of the log as Verify reads it.
type chainPage struct {
	events []domain.Event
	err    error
}

// readAhead reads the log's pages in order for the verification. Up to the head it finds at
// the start, each page is a range of positions, read two at a time (each read waits on its
// database and on opening sealed bodies: two in flight keep both cores busy beside the
// checks); then one page at a time until a short one, for what was appended meanwhile. A
// range may hold fewer events than a page (positions skipped by rolled-back appends). It stops
// after an error or ctx's end.
func readAhead(ctx context.Context, store *eventstore.Store) <-chan chainPage {
	pages := make(chan chainPage, 1)
	send := func(p chainPage) bool {
		select {
		case pages <- p:
			return p.err == nil
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(pages)
		head, err := store.Head(ctx)
		if err != nil {
			send(chainPage{err: err})
			return
		}
		reader, err := store.NewChainReader(ctx, keepKeys)
		if err != nil {
			send(chainPage{err: err})
			return
		}
		defer reader.Close()
		inOrder := make(chan chan chainPage, 1) // with the one awaited: two reads in flight
		go func() {
			defer close(inOrder)
			for after := int64(0); after < head; after += int64(verifyPage) {
				page := make(chan chainPage, 1)
				select {
				case inOrder <- page:
				case <-ctx.Done():
					return
				}
				go func(after int64) {
					events, err := reader.ReadChain(ctx, after, min(after+int64(verifyPage), head), verifyPage)
					page <- chainPage{events, err}
				}(after)
			}
		}()
		for page := range inOrder {
			if !send(<-page) {
				return
			}
		}
		for after := head; ; {
			events, err := reader.ReadChain(ctx, after, 0, verifyPage)
			if !send(chainPage{events, err}) || len(events) < verifyPage {
				return
			}
			after = events[len(events)-1].Position
		}
	}()
	return pages
}

func (v *Verified) count(e domain.Event) {
	v.Events++
	if e.Erased {
		v.Erased++
	}
}

// checkEvent checks an event's raw body, unless it was erased, and its link in the chain.
func checkEvent(prev string, e domain.Event) error {
	if e.Erased {
		// Nothing left to hash: the chain, which covers raw_sha256, still checks the rest.
	} else if sum := sha256.Sum256(e.Raw); hex.EncodeToString(sum[:]) != e.RawSHA256 {
		return &eventstore.BrokenChainError{Position: e.Position, What: "raw_sha256",
			Detail: "the raw body's SHA-256 is " + hex.EncodeToString(sum[:]) + ", stored " + e.RawSHA256}
	}
	want, err := eventstore.ChainHash(prev, e)
	if err != nil {
		return &eventstore.BrokenChainError{Position: e.Position, What: "hash", Detail: "the previous " + err.Error()}
	}
	if want != e.Hash {
		return &eventstore.BrokenChainError{Position: e.Position, What: "hash", Detail: "the chain gives " + want + ", stored " + e.Hash}
	}
	return nil
}

// checkpointWalk goes through the checkpoints in size order, a page at a time, as the
// verification reaches each one's size.
type checkpointWalk struct {
	verifiers note.Verifiers
	next      []Checkpoint
	more      func(ctx context.Context, after uint64) ([]Checkpoint, error) // the next page; nil: next is all
}

func newCheckpointWalk(ctx context.Context, tree *Tree) (*checkpointWalk, error) {
	verifiers, err := tree.VerifierKeys(ctx)
	if err != nil {
		return nil, err
	}
	w := &checkpointWalk{verifiers: verifiers, more: func(ctx context.Context, after uint64) ([]Checkpoint, error) {
		return tree.CheckpointsAfter(ctx, after, 100)
	}}
	w.next, err = w.more(ctx, 0)
	return w, err
}

// at checks the checkpoints of size n, once the tree has n leaves.
func (w *checkpointWalk) at(ctx context.Context, n uint64, built *treeBuilder) error {
	for len(w.next) > 0 && w.next[0].TreeSize == n {
		root, err := built.root()
		if err != nil {
			return err
		}
		if err := w.check(w.next[0], root); err != nil {
			return err
		}
		if w.next = w.next[1:]; len(w.next) == 0 && w.more != nil {
			if w.next, err = w.more(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// beyond fails for a checkpoint larger than the log: events it covered are gone.
func (w *checkpointWalk) beyond(n uint64) error {
	if len(w.next) > 0 {
		return fmt.Errorf("a checkpoint of %d events was signed, and the log holds %d", w.next[0].TreeSize, n)
	}
	return nil
}

// CheckSigned checks that a checkpoint's note is signed by one of the verifiers and that the
// signed text names the checkpoint's size and root.
func CheckSigned(c Checkpoint, verifiers note.Verifiers) error {
	n, err := note.Open([]byte(c.Note), verifiers)
	if err != nil {
		return fmt.Errorf("the checkpoint of %d events does not verify with its key %s: %w", c.TreeSize, c.KeyID, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 3 || lines[1] != strconv.FormatUint(c.TreeSize, 10) || lines[2] != base64.StdEncoding.EncodeToString(c.Root) {
		return fmt.Errorf("the checkpoint of %d events signs another tree: %q", c.TreeSize, n.Text)
	}
	return nil
}

// check verifies a checkpoint's signature and that it says what the log gives.
func (w *checkpointWalk) check(c Checkpoint, root []byte) error {
	if err := CheckSigned(c, w.verifiers); err != nil {
		return err
	}
	if !bytes.Equal(c.Root, root) {
		return fmt.Errorf("the checkpoint of %d events signed root %x; the log gives %x", c.TreeSize, c.Root, root)
	}
	return nil
}
