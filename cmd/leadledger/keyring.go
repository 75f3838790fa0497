package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/sealed"
)

// masterKeyring is the key sink credentials are sealed under: master_key_env's, else the key
// file's, created on first start (beside the SQLite database unless master_key_file says where).
// It also opens with the older keys of a rotation: master_key_previous_env's, and the key
// file's previous key (see rotate-key --new-key-file).
func masterKeyring(cfg config.Config, log *slog.Logger) (*sealed.Keyring, error) {
	return openMasterKeyring(cfg, log, true)
}

// openMasterKeyring is masterKeyring; create says whether a missing key file is created
// (serve) or an error (rotate-key, which must not make up a key).
func openMasterKeyring(cfg config.Config, log *slog.Logger, create bool) (*sealed.Keyring, error) {
	if cfg.MasterKey != nil {
		return sealed.NewKeyring(cfg.MasterKey, cfg.MasterKeyPrevious...)
	}
	path := keyFilePath(cfg)
	var key []byte
	var created bool
	var err error
	if create {
		key, created, err = sealed.LoadOrCreateKeyFile(path)
	} else {
		key, err = sealed.LoadKeyFile(path)
	}
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("master key: no master_key_env, and no key file at %s: run with the servers' configuration (and, for a relative path, their working directory)", path)
	}
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
	older := cfg.MasterKeyPrevious
	previousPath := sealed.PreviousKeyFile(path)
	switch previous, err := sealed.LoadKeyFile(previousPath); {
	case err == nil:
		older = append(older, previous)
		log.Info("the master key file has a previous key beside it: a rotation is under way; delete it once leadledger rotate-key --check finds nothing left",
			"path", previousPath)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("master key: previous key: %w", err)
	}
	return sealed.NewKeyring(key, older...)
}

// keyFilePath is master_key_file, else master.key beside the SQLite database, or in the
// working directory.
func keyFilePath(cfg config.Config) string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	return defaultKeyFile(cfg.Database)
}

// defaultKeyFile is master.key beside the SQLite database, or in the working directory.
func defaultKeyFile(database string) string {
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		path, _, _ = strings.Cut(path, "?")
		return filepath.Join(filepath.Dir(path), "master.key")
	}
	return "master.key"
}
