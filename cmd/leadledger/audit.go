package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/adapters/sealed"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// signingKeyContext binds the sealed signing key to its use.
const signingKeyContext = "checkpoint signing key"

// openAudit opens the log's Merkle tree and the key checkpoints are signed with:
// signing_key_env's, else the one kept in the database, sealed under the master key (made on
// first start).
func openAudit(ctx context.Context, cfg config.Config, store *eventstore.Store, keyring *sealed.Keyring, log *slog.Logger) (*httpapi.Audit, error) {
	tree, err := audit.NewTree(ctx, store)
	if err != nil {
		return nil, err
	}
	skey := cfg.SigningKey
	if skey == "" {
		var created bool
		skey, created, err = audit.StoredSigningKey(ctx, tree,
			func(s string) (string, error) { return keyring.Seal(s, signingKeyContext) },
			func(s string) (string, error) { return keyring.Open(s, signingKeyContext) })
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("made a checkpoint signing key; it is kept in the database, sealed under the master key")
		}
	}
	signer, err := audit.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("signing_key_env: %w", err)
	}
	return &httpapi.Audit{Tree: tree, Signer: signer}, nil
}
