package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// Tree is the log's Merkle tree as stored beside it: every leaf (an event's hash, with the
// event's position) and the root of every perfect subtree, so that a proof at any tree size
// costs O(log n) reads. Stored nodes never change: the tree only grows.
type Tree struct {
	store *eventstore.Store
}

// ErrNotInTree is returned for an event the tree (of the size asked) does not hold yet.
var ErrNotInTree = errors.New("the event is not in the tree yet")

// NewTree opens the tree's tables and the signing key's, creating them if needed.
func NewTree(ctx context.Context, store *eventstore.Store) (*Tree, error) {
	if err := store.MigrateTables(ctx, "the audit tree", []string{
		`CREATE TABLE IF NOT EXISTS ledger_tree_leaves (
			leaf BIGINT PRIMARY KEY,
			position BIGINT NOT NULL UNIQUE,
			hash TEXT NOT NULL
		)`,
		// Levels 1 and up: a leaf's node is derived from its hash.
		`CREATE TABLE IF NOT EXISTS ledger_tree_nodes (
			level INTEGER NOT NULL,
			idx BIGINT NOT NULL,
			hash TEXT NOT NULL,
			PRIMARY KEY (level, idx)
		)`,
		// The public keys checkpoints were signed with, so anyone may check every checkpoint,
		// including those of a key since replaced.
		`CREATE TABLE IF NOT EXISTS ledger_checkpoint_keys (
			key_id TEXT PRIMARY KEY,
			verifier_key TEXT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS ledger_checkpoints (
			tree_size BIGINT PRIMARY KEY,
			root TEXT NOT NULL,
			signed_at TEXT NOT NULL,
			key_id TEXT NOT NULL,
			note TEXT NOT NULL
		)`,
		// The key checkpoints are signed with when none is configured, sealed (see StoredSigningKey).
		`CREATE TABLE IF NOT EXISTS ledger_signing_key (
			id INTEGER PRIMARY KEY CHECK (id = 1),
			sealed TEXT NOT NULL
		)`,
	}); err != nil {
		return nil, err
	}
	return &Tree{store: store}, nil
}

// growLock keeps two processes from growing the tree at once on PostgreSQL (SQLite's write
// lock does it there).
const growLock = 0x6c6564747265 // "ledtre"

// querier is a transaction or a pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Size is how many leaves the tree holds.
func (t *Tree) Size(ctx context.Context) (uint64, error) {
	return t.size(ctx, t.store.ReadDB())
}

func (t *Tree) size(ctx context.Context, q querier) (uint64, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(MAX(leaf) + 1, 0) FROM ledger_tree_leaves`)
	if err != nil {
		return 0, fmt.Errorf("read the tree's size: %w", err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("read the tree's size: %w", err)
		}
	}
	return uint64(n), rows.Err()
}

// Grow appends to the tree, as leaves, the events the log holds beyond it, at most max of
// them, and returns its new size.
func (t *Tree) Grow(ctx context.Context, max int) (uint64, error) {
	tx, err := t.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("grow the tree: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if t.store.Dialect() == "postgres" {
		var got bool
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT pg_try_advisory_xact_lock(%d)`, growLock)).Scan(&got); err != nil {
			return 0, fmt.Errorf("grow the tree: %w", err)
		}
		if !got { // another process grows it
			return t.size(ctx, tx)
		}
	}
	size, err := t.size(ctx, tx)
	if err != nil {
		return 0, err
	}
	after, err := t.lastPosition(ctx, tx, size)
	if err != nil {
		return 0, err
	}
	events, err := t.store.ReadHashes(ctx, after, max)
	if err != nil || len(events) == 0 {
		return size, err
	}
	r, err := t.compactRange(ctx, tx, size)
	if err != nil {
		return 0, err
	}
	var leaves, nodes [][]any
	for _, e := range events {
		leaf, err := hex.DecodeString(e.Hash)
		if err != nil || len(leaf) != 32 {
			return 0, fmt.Errorf("grow the tree: event %d has no valid hash (%q): run leadledger verify", e.Position, e.Hash)
		}
		leaves = append(leaves, []any{int64(r.End()), e.Position, e.Hash})
		if err := r.Append(hasher.HashLeaf(leaf), func(id compact.NodeID, hash []byte) {
			if id.Level > 0 {
				nodes = append(nodes, []any{int(id.Level), int64(id.Index), hex.EncodeToString(hash)})
			}
		}); err != nil {
			return 0, fmt.Errorf("grow the tree: %w", err)
		}
	}
	if err := t.insert(ctx, tx, `ledger_tree_leaves (leaf, position, hash)`, leaves); err != nil {
		return 0, err
	}
	if err := t.insert(ctx, tx, `ledger_tree_nodes (level, idx, hash)`, nodes); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("grow the tree: commit: %w", err)
	}
	return r.End(), nil
}

// lastPosition is the position of the tree's last leaf, 0 for an empty tree.
func (t *Tree) lastPosition(ctx context.Context, q querier, size uint64) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	rows, err := q.QueryContext(ctx, t.store.Rebind(`SELECT position FROM ledger_tree_leaves WHERE leaf = ?`), int64(size-1))
	if err != nil {
		return 0, fmt.Errorf("read the tree's last leaf: %w", err)
	}
	defer rows.Close()
	var p int64
	if rows.Next() {
		err = rows.Scan(&p)
	}
	return p, errors.Join(err, rows.Err())
}

// compactRange is the tree of a size as the few perfect subtrees it is made of.
func (t *Tree) compactRange(ctx context.Context, q querier, size uint64) (*compact.Range, error) {
	hashes, err := t.hashes(ctx, q, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	return ranges.NewRange(0, size, hashes)
}

// Root is the tree head at a size no larger than the tree.
func (t *Tree) Root(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	r, err := t.compactRange(ctx, t.store.ReadDB(), size)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// Leaf is the leaf index of the event at a position; ErrNotInTree before the tree has it.
func (t *Tree) Leaf(ctx context.Context, position int64) (uint64, error) {
	var leaf int64
	err := t.store.ReadDB().QueryRowContext(ctx, t.store.Rebind(`SELECT leaf FROM ledger_tree_leaves WHERE position = ?`), position).Scan(&leaf)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotInTree
	}
	if err != nil {
		return 0, fmt.Errorf("find the leaf of position %d: %w", position, err)
	}
	return uint64(leaf), nil
}

// Inclusion is the audit path proving leaf's inclusion in the tree of a size (RFC 6962 §2.1.1).
func (t *Tree) Inclusion(ctx context.Context, leaf, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(leaf, size)
	if err != nil {
		return nil, err
	}
	return t.rehash(ctx, nodes)
}

// Consistency is the proof that the tree of size first is a prefix of the tree of size
// second (RFC 6962 §2.1.2).
func (t *Tree) Consistency(ctx context.Context, first, second uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(first, second)
	if err != nil {
		return nil, err
	}
	return t.rehash(ctx, nodes)
}

func (t *Tree) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := t.hashes(ctx, t.store.ReadDB(), nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// hashes reads stored nodes, in two queries whatever their number (a proof at 10M events
// needs about 50): leaves from their event hashes, the others as stored.
func (t *Tree) hashes(ctx context.Context, q querier, ids []compact.NodeID) ([][]byte, error) {
	var leaves, nodes []string
	var leafArgs, nodeArgs []any
	for _, id := range ids {
		if id.Level == 0 {
			leaves, leafArgs = append(leaves, "?"), append(leafArgs, int64(id.Index))
		} else {
			nodes, nodeArgs = append(nodes, "(level = ? AND idx = ?)"), append(nodeArgs, int(id.Level), int64(id.Index))
		}
	}
	found := map[compact.NodeID][]byte{}
	read := func(query string, args []any, leaf bool) error {
		rows, err := q.QueryContext(ctx, t.store.Rebind(query), args...)
		if err != nil {
			return fmt.Errorf("read tree nodes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var level int
			var index int64
			var h string
			dest := []any{&level, &index, &h}
			if leaf {
				dest = dest[1:]
			}
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("read tree nodes: %w", err)
			}
			b, err := hex.DecodeString(h)
			if err != nil {
				return fmt.Errorf("tree node %d/%d: %w", level, index, err)
			}
			if leaf {
				b = hasher.HashLeaf(b)
			}
			found[compact.NewNodeID(uint(level), uint64(index))] = b
		}
		return rows.Err()
	}
	if len(leaves) > 0 {
		if err := read(`SELECT leaf, hash FROM ledger_tree_leaves WHERE leaf IN (`+strings.Join(leaves, ",")+`)`, leafArgs, true); err != nil {
			return nil, err
		}
	}
	if len(nodes) > 0 {
		if err := read(`SELECT level, idx, hash FROM ledger_tree_nodes WHERE `+strings.Join(nodes, " OR "), nodeArgs, false); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if out[i] = found[id]; out[i] == nil {
			return nil, fmt.Errorf("tree node %d/%d is missing: %w", id.Level, id.Index, domain.ErrNotFound)
		}
	}
	return out, nil
}

// insert writes rows in multi-row statements.
func (t *Tree) insert(ctx context.Context, tx *sql.Tx, into string, rows [][]any) error {
	for chunk := range slices.Chunk(rows, 300) {
		values := make([]string, len(chunk))
		var args []any
		for i, row := range chunk {
			values[i] = "(" + strings.TrimSuffix(strings.Repeat("?,", len(row)), ",") + ")"
			args = append(args, row...)
		}
		if _, err := tx.ExecContext(ctx, t.store.Rebind(`INSERT INTO `+into+` VALUES `+strings.Join(values, ", ")), args...); err != nil {
			return fmt.Errorf("grow the tree: %w", err)
		}
	}
	return nil
}
