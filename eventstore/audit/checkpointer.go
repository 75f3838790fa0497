package audit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/leadledger/leadledger/domain"
)

// Checkpointer keeps the tree up with the log and signs a checkpoint whenever the tree has
// grown and the last checkpoint is Every old (or there is none): while the log grows there is
// a new checkpoint at least that often.
type Checkpointer struct {
	Tree   *Tree
	Signer *Signer
	Every  time.Duration // default 30 s
	Poll   time.Duration // how often the log is looked at; default 1 s
	Log    *slog.Logger  // default slog.Default()
}

// growStep bounds one transaction of the tree's growth: on SQLite it holds the write lock,
// which ingest waits for.
const growStep = 5000

// Run grows the tree and signs checkpoints until ctx ends.
func (c *Checkpointer) Run(ctx context.Context) {
	poll, log := c.Poll, c.Log
	if poll <= 0 {
		poll = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	for {
		if _, err := c.Step(ctx); err != nil && ctx.Err() == nil {
			log.Warn("audit: grow the tree or sign a checkpoint", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}

// Step grows the tree to the log's head and signs a checkpoint if one is due; it returns the
// newest checkpoint.
func (c *Checkpointer) Step(ctx context.Context) (Checkpoint, error) {
	var size uint64
	for {
		before := size
		grown, err := c.Tree.Grow(ctx, growStep)
		if err != nil {
			return Checkpoint{}, err
		}
		if size = grown; grown-before < growStep {
			break
		}
	}
	last, err := c.Tree.Latest(ctx)
	none := errors.Is(err, domain.ErrNotFound)
	if err != nil && !none {
		return Checkpoint{}, err
	}
	every := c.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	due := none || size > last.TreeSize && time.Since(last.SignedAt) >= every
	if size == 0 || !due {
		return last, nil
	}
	root, err := c.Tree.Root(ctx, size)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := c.Signer.Sign(size, root, time.Now())
	if err != nil {
		return Checkpoint{}, err
	}
	return cp, c.Tree.saveCheckpoint(ctx, cp, c.Signer.VerifierKey())
}
