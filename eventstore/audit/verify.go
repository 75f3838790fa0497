// Package audit makes the log provable: it verifies the hash chain, builds the RFC 6962 Merkle
// tree over the events' hashes, signs checkpoints of it and answers inclusion and consistency
// proofs, so that an auditor needs to trust neither the server nor its database.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/leadledger/leadledger/eventstore"
)

// Verified is how far a verification got: the events read, the last one's position, and the
// Merkle tree head over every event's hash so far.
type Verified struct {
	Events   int64
	Position int64
	Root     []byte
}

// verifyPage is how many events one read brings: a page of raw bodies stays a few MB.
const verifyPage = 5000

// Verify reads the whole log in position order, in constant memory, and checks each event
// from position from on: its raw body against its raw_sha256, its hash against the chain's
// rule and the hash before it. Events before from are taken on trust (their hashes still
// count in the root). It returns what it verified, or a *eventstore.BrokenChainError naming
// the first position that fails. progress, if not nil, is called after every page.
func Verify(ctx context.Context, store *eventstore.Store, from int64, progress func(Verified)) (Verified, error) {
	tree := newTreeBuilder()
	var v Verified
	prev := eventstore.GenesisHash
	for {
		events, err := store.ReadChain(ctx, v.Position, verifyPage)
		if err != nil {
			return v, err
		}
		for _, e := range events {
			if e.Position >= from {
				if sum := sha256.Sum256(e.Raw); hex.EncodeToString(sum[:]) != e.RawSHA256 {
					return v, &eventstore.BrokenChainError{Position: e.Position, What: "raw_sha256",
						Detail: "the raw body's SHA-256 is " + hex.EncodeToString(sum[:]) + ", stored " + e.RawSHA256}
				}
				want, err := eventstore.ChainHash(prev, e)
				if err != nil {
					return v, &eventstore.BrokenChainError{Position: e.Position, What: "hash", Detail: "the previous " + err.Error()}
				}
				if want != e.Hash {
					return v, &eventstore.BrokenChainError{Position: e.Position, What: "hash",
						Detail: "the chain gives " + want + ", stored " + e.Hash}
				}
			}
			if err := tree.append(e.Hash); err != nil {
				return v, &eventstore.BrokenChainError{Position: e.Position, What: "hash", Detail: err.Error()}
			}
			prev, v.Position = e.Hash, e.Position
			v.Events++
		}
		if v.Root, err = tree.root(); err != nil {
			return v, err
		}
		if progress != nil {
			progress(v)
		}
		if len(events) < verifyPage {
			return v, nil
		}
	}
}
