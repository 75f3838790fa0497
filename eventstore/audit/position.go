package audit

import "context"

// Position is the log position of the tree's newest leaf, 0 for an empty tree: how far the
// tree has come, for its lag behind the log's head.
func (t *Tree) Position(ctx context.Context) (int64, error) {
	q := t.store.ReadDB()
	size, err := t.size(ctx, q)
	if err != nil {
		return 0, err
	}
	return t.lastPosition(ctx, q, size)
}
