package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/leadledger/leadledger/domain"
)

// Checkpoint is a signed tree head: the tree's size and root, as a C2SP signed note
// (tlog-checkpoint), the format Go's checksum database and Sigstore publish.
type Checkpoint struct {
	TreeSize uint64
	Root     []byte
	SignedAt time.Time
	KeyID    string // the signer's name and key hash, as in its verifier key
	Note     string
}

// Signer signs checkpoints with an Ed25519 note key.
type Signer struct {
	signer   note.Signer
	verifier string // the verifier key anyone checks checkpoints with
}

// NewSigner reads a note signer key (PRIVATE+KEY+<name>+<hash>+<key>) and derives its
// verifier key.
func NewSigner(skey string) (*Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint signing key: %w", err)
	}
	vkey, err := verifierOf(skey)
	if err != nil {
		return nil, err
	}
	return &Signer{signer: s, verifier: vkey}, nil
}

// GenerateSigningKey makes a new note signer key named name.
func GenerateSigningKey(name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	return skey, err
}

// VerifierKey is the public key checkpoints are checked with: <name>+<hash>+<base64 key>.
func (s *Signer) VerifierKey() string { return s.verifier }

// KeyID is the signer's name and key hash: the verifier key without the key.
func (s *Signer) KeyID() string {
	name, hash, _ := strings.Cut(s.verifier, "+")
	hash, _, _ = strings.Cut(hash, "+")
	return name + "+" + hash
}

// Sign makes the checkpoint of a tree head: its body is the log's origin (the key's name),
// the size, and the root in base64, a line each.
func (s *Signer) Sign(size uint64, root []byte, at time.Time) (Checkpoint, error) {
	text := fmt.Sprintf("%s\n%d\n%s\n", s.signer.Name(), size, base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, s.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return Checkpoint{TreeSize: size, Root: root, SignedAt: at.UTC(), KeyID: s.KeyID(), Note: string(signed)}, nil
}

// saveCheckpoint stores a checkpoint and the key it is checked with; one of the same size stays
// as it was.
func (t *Tree) saveCheckpoint(ctx context.Context, c Checkpoint, verifierKey string) error {
	tx, err := t.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save checkpoint %d: %w", c.TreeSize, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, t.store.Rebind(`INSERT INTO ledger_checkpoint_keys (key_id, verifier_key) VALUES (?, ?)
		ON CONFLICT (key_id) DO NOTHING`), c.KeyID, verifierKey); err != nil {
		return fmt.Errorf("save checkpoint %d: its key: %w", c.TreeSize, err)
	}
	if _, err := tx.ExecContext(ctx, t.store.Rebind(`INSERT INTO ledger_checkpoints (tree_size, root, signed_at, key_id, note)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING`),
		int64(c.TreeSize), hex.EncodeToString(c.Root), c.SignedAt.Format(time.RFC3339Nano), c.KeyID, c.Note); err != nil {
		return fmt.Errorf("save checkpoint %d: %w", c.TreeSize, err)
	}
	return tx.Commit()
}

// VerifierKeys are the public keys of every key checkpoints were signed with.
func (t *Tree) VerifierKeys(ctx context.Context) (note.Verifiers, error) {
	keys, err := t.verifierKeysByID(ctx)
	if err != nil {
		return nil, err
	}
	return verifiers(keys)
}

func verifiers(keys map[string]string) (note.Verifiers, error) {
	var list []note.Verifier
	for _, vkey := range keys {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("checkpoint key %q: %w", vkey, err)
		}
		list = append(list, v)
	}
	return note.VerifierList(list...), nil
}

// verifierKeysByID are the checkpoints' verifier keys by key id.
func (t *Tree) verifierKeysByID(ctx context.Context) (map[string]string, error) {
	rows, err := t.store.ReadDB().QueryContext(ctx, `SELECT key_id, verifier_key FROM ledger_checkpoint_keys`)
	if err != nil {
		return nil, fmt.Errorf("read the checkpoints' keys: %w", err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var id, vkey string
		if err := rows.Scan(&id, &vkey); err != nil {
			return nil, fmt.Errorf("read the checkpoints' keys: %w", err)
		}
		keys[id] = vkey
	}
	return keys, rows.Err()
}

// CheckpointsAfter lists checkpoints by size from the smallest larger than after.
func (t *Tree) CheckpointsAfter(ctx context.Context, after uint64, limit int) ([]Checkpoint, error) {
	return t.queryCheckpoints(ctx, `WHERE tree_size > ? ORDER BY tree_size LIMIT ?`, int64(after), limit)
}

// Checkpoints lists the checkpoints, newest first, at most limit of them.
func (t *Tree) Checkpoints(ctx context.Context, limit int) ([]Checkpoint, error) {
	return t.queryCheckpoints(ctx, `ORDER BY tree_size DESC LIMIT ?`, limit)
}

func (t *Tree) queryCheckpoints(ctx context.Context, where string, args ...any) ([]Checkpoint, error) {
	rows, err := t.store.ReadDB().QueryContext(ctx, t.store.Rebind(`SELECT tree_size, root, signed_at, key_id, note
		FROM ledger_checkpoints `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var size int64
		var root, at string
		if err := rows.Scan(&size, &root, &at, &c.KeyID, &c.Note); err != nil {
			return nil, fmt.Errorf("list checkpoints: %w", err)
		}
		c.TreeSize = uint64(size)
		if c.Root, err = hex.DecodeString(root); err != nil {
			return nil, fmt.Errorf("checkpoint %d: root: %w", size, err)
		}
		if c.SignedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("checkpoint %d: signed_at: %w", size, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Latest is the newest checkpoint; domain.ErrNotFound before the first.
func (t *Tree) Latest(ctx context.Context) (Checkpoint, error) {
	list, err := t.Checkpoints(ctx, 1)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(list) == 0 {
		return Checkpoint{}, fmt.Errorf("no checkpoint yet: %w", domain.ErrNotFound)
	}
	return list[0], nil
}

// verifierOf derives the verifier key of a note signer key, whose last part is an algorithm
// byte (1: Ed25519) and the 32-byte private key seed, in base64.
func verifierOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // the key's base64 may hold a + too
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("checkpoint signing key: not a note signer key (PRIVATE+KEY+<name>+<hash>+<key>)")
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("checkpoint signing key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}
