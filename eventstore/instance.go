package eventstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
)

// newInstance names this process among those sharing a database: its host, its pid and a
// random part (a restarted process may get its old pid back). Leases are held under it, and
// /v1/status shows it, so an operator can tell which process holds what.
func newInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var random [3]byte
	_, _ = rand.Read(random[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(random[:]))
}

// Instance is this process's name in leases: host/pid/random, made when the store is opened.
func (s *Store) Instance() string { return s.instance }
