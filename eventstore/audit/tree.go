package audit

import (
	"encoding/hex"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The log's Merkle tree is RFC 6962's over the events' hashes, in position order: leaf i is
// the i-th event's 32-byte hash (positions may skip numbers; leaves do not).
var (
	hasher = rfc6962.DefaultHasher
	ranges = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// treeBuilder appends leaves and gives the tree head, in O(log n) memory.
type treeBuilder struct{ r *compact.Range }

func newTreeBuilder() *treeBuilder { return &treeBuilder{r: ranges.NewEmptyRange(0)} }

// append adds an event's hash (hex) as the next leaf.
func (t *treeBuilder) append(hash string) error {
	leaf, err := hex.DecodeString(hash)
	if err != nil || len(leaf) != 32 {
		return fmt.Errorf("not 64 hex digits: %q", hash)
	}
	return t.r.Append(hasher.HashLeaf(leaf), nil)
}

// root is the tree head; an empty tree's is SHA-256 of nothing, as RFC 6962 defines it.
func (t *treeBuilder) root() ([]byte, error) {
	if t.r.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return t.r.GetRootHash(nil)
}
