package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/sealed"
)

// masterKeyring is the key sink credentials are sealed under: master_key_env's, else the key
// file's, created on first start (beside the SQLite database unless master_key_file says where).
func masterKeyring(cfg config.Config, log *slog.Logger) (*sealed.Keyring, error) {
	if cfg.MasterKey != nil {
		return sealed.NewKeyring(cfg.MasterKey)
	}
	path := cfg.MasterKeyFile
	if path == "" {
		path = defaultKeyFile(cfg.Database)
	}
	key, created, err := sealed.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if created {
		log.Warn("created a master key file: sink credentials are sealed with it; back it up with the database, or set master_key_env",
			"path", path)
	}
	if !strings.HasPrefix(cfg.Database, "sqlite:") {
		log.Warn("the master key is a local file: every server on this database needs the same key; set master_key_env", "path", path)
	}
	return sealed.NewKeyring(key)
}

// defaultKeyFile is master.key beside the SQLite database, or in the working directory.
func defaultKeyFile(database string) string {
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		path, _, _ = strings.Cut(path, "?")
		return filepath.Join(filepath.Dir(path), "master.key")
	}
	return "master.key"
}
