package httpapi

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// Audit is what the audit endpoints serve: the log's Merkle tree and the key its checkpoints
// are signed with.
type Audit struct {
	Tree   *audit.Tree
	Signer *audit.Signer
}

type checkpointJSON struct {
	TreeSize uint64    `json:"tree_size"`
	Root     string    `json:"root"`
	SignedAt time.Time `json:"signed_at"`
	KeyID    string    `json:"key_id"`
	Note     string    `json:"note"`
}

func toCheckpointJSON(c audit.Checkpoint) checkpointJSON {
	return checkpointJSON{TreeSize: c.TreeSize, Root: hex.EncodeToString(c.Root), SignedAt: c.SignedAt, KeyID: c.KeyID, Note: c.Note}
}

func hexList(hashes [][]byte) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// listCheckpoints is GET /v1/checkpoints?limit=: the newest first.
func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r.URL.Query().Get("limit"), defaultLimit)
	if err != nil || limit < 1 || limit > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return
	}
	list, err := s.cfg.Audit.Tree.Checkpoints(r.Context(), int(limit))
	if err != nil {
		s.internalError(w, "list checkpoints", err)
		return
	}
	out := make([]checkpointJSON, len(list))
	for i, c := range list {
		out[i] = toCheckpointJSON(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"checkpoints": out})
}

// latestCheckpoint is GET /v1/checkpoints/latest.
func (s *Server) latestCheckpoint(w http.ResponseWriter, r *http.Request) {
	c, ok := s.latest(w, r)
	if ok {
		writeJSON(w, http.StatusOK, toCheckpointJSON(c))
	}
}

func (s *Server) latest(w http.ResponseWriter, r *http.Request) (audit.Checkpoint, bool) {
	c, err := s.cfg.Audit.Tree.Latest(r.Context())
	if errors.Is(err, domain.ErrNotFound) {
		writeError(w, http.StatusNotFound, "No checkpoint yet: the first is signed within a minute of the first event")
		return c, false
	}
	if err != nil {
		s.internalError(w, "read the latest checkpoint", err)
		return c, false
	}
	return c, true
}

// publicKey is GET /v1/checkpoints/public-key: the note verifier key checkpoints are signed for.
func (s *Server) publicKey(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"verifier_key": s.cfg.Audit.Signer.VerifierKey(), "key_id": s.cfg.Audit.Signer.KeyID()})
}

// treeSize reads a tree size parameter: from 1 to the tree's size.
func (s *Server) treeSize(w http.ResponseWriter, r *http.Request, name string) (uint64, bool) {
	size, err := s.cfg.Audit.Tree.Size(r.Context())
	if err != nil {
		s.internalError(w, "read the tree's size", err)
		return 0, false
	}
	v, err := intParam(r.URL.Query().Get(name), 0)
	if err != nil || v < 1 || uint64(v) > size {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid %s: must be an integer from 1 to %d (the tree's size)", name, size))
		return 0, false
	}
	return uint64(v), true
}

// eventProof is GET /v1/events/{id}/proof?tree_size=N: the RFC 6962 inclusion proof of the
// event's hash in the tree of size N, by default the latest checkpoint's.
func (s *Server) eventProof(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown event")
		return
	}
	var size uint64
	if r.URL.Query().Has("tree_size") {
		var ok bool
		if size, ok = s.treeSize(w, r, "tree_size"); !ok {
			return
		}
	} else {
		c, ok := s.latest(w, r)
		if !ok {
			return
		}
		size = c.TreeSize
	}
	position, err := s.log.PositionOf(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		writeError(w, http.StatusNotFound, "Unknown event")
		return
	}
	if err != nil {
		s.internalError(w, "find the event", err)
		return
	}
	leaf, err := s.cfg.Audit.Tree.Leaf(r.Context(), position)
	if err == nil && leaf >= size || errors.Is(err, audit.ErrNotInTree) {
		writeError(w, http.StatusConflict, fmt.Sprintf("Event %s is not in the tree of size %d yet: ask again after the next checkpoint", id, size))
		return
	}
	if err != nil {
		s.internalError(w, "find the event's leaf", err)
		return
	}
	path, err := s.cfg.Audit.Tree.Inclusion(r.Context(), leaf, size)
	if err != nil {
		s.internalError(w, "build the inclusion proof", err)
		return
	}
	root, err := s.cfg.Audit.Tree.Root(r.Context(), size)
	if err != nil {
		s.internalError(w, "read the tree head", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_id": id, "position": position, "leaf_index": leaf,
		"tree_size": size, "root": hex.EncodeToString(root), "audit_path": hexList(path)})
}

// consistency is GET /v1/checkpoints/consistency?first=M&second=N: the RFC 6962 proof that the
// tree of size M is a prefix of the tree of size N.
func (s *Server) consistency(w http.ResponseWriter, r *http.Request) {
	first, ok := s.treeSize(w, r, "first")
	if !ok {
		return
	}
	second, ok := s.treeSize(w, r, "second")
	if !ok {
		return
	}
	if first > second {
		writeError(w, http.StatusBadRequest, "Invalid first: must not be larger than second")
		return
	}
	path, err := s.cfg.Audit.Tree.Consistency(r.Context(), first, second)
	if err != nil {
		s.internalError(w, "build the consistency proof", err)
		return
	}
	var roots [2][]byte
	for i, size := range []uint64{first, second} {
		if roots[i], err = s.cfg.Audit.Tree.Root(r.Context(), size); err != nil {
			s.internalError(w, "read the tree head", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"first": first, "second": second, "first_root": hex.EncodeToString(roots[0]),
		"second_root": hex.EncodeToString(roots[1]), "proof": hexList(path)})
}

// exportStall is how long an export may go without writing a page before it is cut.
const exportStall = 30 * time.Second

// exportLog is GET /v1/export?from=&to=: the log, or a range of positions, in the export
// format (NDJSON), streamed.
func (s *Server) exportLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := intParam(q.Get("from"), 1)
	if err != nil || from < 1 {
		writeError(w, http.StatusBadRequest, "Invalid from: must be a position, an integer >= 1")
		return
	}
	to, err := intParam(q.Get("to"), 0)
	if err != nil || to < 0 || to > 0 && to < from {
		writeError(w, http.StatusBadRequest, "Invalid to: must be a position no smaller than from (0 or none: the head)")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="leadledger-export.ndjson"`)
	// The server's write timeout would cut a large export short: each page written moves the
	// deadline on, so only an export that stalls for exportStall ends early.
	rc := http.NewResponseController(w)
	keepWriting := func(int64) { _ = rc.SetWriteDeadline(time.Now().Add(exportStall)) }
	keepWriting(0)
	if _, err := audit.Export(r.Context(), w, s.cfg.Audit.Tree, from-1, to, keepWriting); err != nil {
		// The status line is gone with the first line written: the body ends short, which an
		// export's reader sees (the last line or the checkpoints missing), and the log says why.
		s.cfg.Logger.Warn("export", "err", err)
	}
}
