package webui

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// checkpointCheck is the latest signed checkpoint and what the server found checking it: its
// signature by a key the ledger signed with, that the signed text names its size and root,
// and that the tree the server holds today has that root at that size.
type checkpointCheck struct {
	Served   bool // false: the UI has no tree to check against
	Found    bool // false: no checkpoint was signed yet
	TreeSize uint64
	Root     string
	SignedAt time.Time
	KeyID    string
	Valid    bool
	Problem  string // why it is not valid
	root     []byte
}

// latestCheckpoint reads and checks the latest checkpoint.
func (h *Handler) latestCheckpoint(ctx context.Context) (checkpointCheck, error) {
	if h.cfg.Proofs == nil {
		return checkpointCheck{}, nil
	}
	c, err := h.cfg.Proofs.Latest(ctx)
	if errors.Is(err, domain.ErrNotFound) {
		return checkpointCheck{Served: true}, nil
	}
	if err != nil {
		return checkpointCheck{}, fmt.Errorf("read the latest checkpoint: %w", err)
	}
	out := checkpointCheck{Served: true, Found: true, TreeSize: c.TreeSize, Root: hex.EncodeToString(c.Root),
		SignedAt: c.SignedAt, KeyID: c.KeyID, root: c.Root}
	verifiers, err := h.cfg.Proofs.VerifierKeys(ctx)
	if err != nil {
		return checkpointCheck{}, fmt.Errorf("read the checkpoints' keys: %w", err)
	}
	if err := audit.CheckSigned(c, verifiers); err != nil {
		out.Problem = err.Error()
		return out, nil
	}
	root, err := h.cfg.Proofs.Root(ctx, c.TreeSize)
	if err != nil {
		return checkpointCheck{}, fmt.Errorf("read the tree head at size %d: %w", c.TreeSize, err)
	}
	if !bytes.Equal(root, c.Root) {
		out.Problem = "the tree the server holds has another root at that size: " + hex.EncodeToString(root)
		return out, nil
	}
	out.Valid = true
	return out, nil
}

// inclusion is an event's place in the latest checkpoint, as checked here.
type inclusion struct {
	State     string // verified | pending (not in a checkpoint yet) | failed | none (no proofs shown)
	TreeSize  uint64
	LeafIndex uint64
	PathLen   int
	Problem   string
}

// checkInclusion checks the RFC 6962 inclusion proof of an event's hash against the latest
// checkpoint's signed root: the proof comes from the server's tree, the root from the
// signature, so a tree that no longer holds the event cannot pass.
func (h *Handler) checkInclusion(ctx context.Context, c checkpointCheck, e domain.Event) (inclusion, error) {
	if !c.Served {
		return inclusion{State: "none"}, nil
	}
	if !c.Found {
		return inclusion{State: "pending"}, nil
	}
	leaf, err := h.cfg.Proofs.Leaf(ctx, e.Position)
	if errors.Is(err, audit.ErrNotInTree) || err == nil && leaf >= c.TreeSize {
		return inclusion{State: "pending", TreeSize: c.TreeSize}, nil
	}
	if err != nil {
		return inclusion{}, fmt.Errorf("find the leaf of position %d: %w", e.Position, err)
	}
	out := inclusion{State: "failed", TreeSize: c.TreeSize, LeafIndex: leaf}
	if !c.Valid {
		out.Problem = "the checkpoint itself does not verify"
		return out, nil
	}
	path, err := h.cfg.Proofs.Inclusion(ctx, leaf, c.TreeSize)
	if err != nil {
		return inclusion{}, fmt.Errorf("build the inclusion proof of leaf %d: %w", leaf, err)
	}
	out.PathLen = len(path)
	hash, err := hex.DecodeString(e.Hash)
	if err != nil || len(hash) != 32 {
		out.Problem = "the event's hash is not 64 hex digits"
		return out, nil
	}
	hasher := rfc6962.DefaultHasher
	if err := proof.VerifyInclusion(hasher, leaf, c.TreeSize, hasher.HashLeaf(hash), path, c.root); err != nil {
		out.Problem = "the proof does not lead to the checkpoint's root"
		return out, nil
	}
	out.State = "verified"
	return out, nil
}
