package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxInputs is HubSpot's limit on the inputs of one batch call.
const maxInputs = 100

// maxBody bounds a request body; 100 contacts are far below it.
const maxBody = 16 << 20

type upsertInput struct {
	IDProperty         string            `json:"idProperty"`
	ID                 string            `json:"id"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

type batchReply struct {
	Status      string   `json:"status"`
	Results     []object `json:"results"`
	StartedAt   string   `json:"startedAt"`
	CompletedAt string   `json:"completedAt"`
}

// serveBatchUpsert is POST /crm/v3/objects/contacts/batch/upsert: every input names a unique
// property (idProperty) and its value (id); the contact holding it is updated, or one is
// created holding it. One refused input refuses the whole call with HubSpot's error body and
// without saying which input it was, and nothing is written: HubSpot documents multi-status
// (207) replies for batch create only, and its batch endpoints have refused whole batches
// since the v1 API.
func (s *Server) serveBatchUpsert(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []upsertInput `json:"inputs"`
	}
	if err := decode(w, r, &body); err != nil {
		writeError(w, err)
		return
	}
	if len(body.Inputs) == 0 {
		writeError(w, badRequest("inputs must not be empty"))
		return
	}
	if len(body.Inputs) > maxInputs {
		writeError(w, badRequest(fmt.Sprintf("Batch input size of %d exceeds the limit of %d", len(body.Inputs), maxInputs)))
		return
	}
	started := time.Now()
	s.mu.Lock()
	results, err := s.upsert(body.Inputs, started)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, batchReply{
		Status:      "COMPLETE",
		Results:     results,
		StartedAt:   stamp(started),
		CompletedAt: stamp(time.Now()),
	})
}

// upsert checks every input, then writes them all. s.mu is held.
func (s *Server) upsert(inputs []upsertInput, now time.Time) ([]object, *apiError) {
	writes := make([]write, 0, len(inputs))
	seen := make(map[string]bool, len(inputs))
	cl := make(claims, len(inputs))
	next := s.nextID
	for _, in := range inputs {
		if in.IDProperty == "" {
			// Without idProperty HubSpot takes id as a record id, which cannot create;
			// the ledger always names one, so the fake refuses rather than guess.
			return nil, badRequest("idProperty is required to upsert")
		}
		if !s.unique[in.IDProperty] {
			// HubSpot's words (hubspot-api-nodejs#548); 0-1 is the contact object type.
			return nil, badRequest("Unable to perform update/upsert by non-unique 0-1 property")
		}
		if in.ID == "" {
			return nil, badRequest("id must not be empty")
		}
		key := in.IDProperty + "\x00" + normalise(in.IDProperty, in.ID)
		if seen[key] {
			return nil, badRequest("Duplicate IDs found in batch input: [" + in.ID + "]")
		}
		seen[key] = true

		props := prepare(in.Properties, 1)
		// The id is the idProperty's value; where properties names another, the id wins
		// (HubSpot does not document the case; matching by one value and writing another
		// would break the next upsert).
		props[in.IDProperty] = normalise(in.IDProperty, in.ID)
		target := s.lookup(in.IDProperty, in.ID)
		id := ""
		if target != nil {
			id = target.ID
		} else {
			id = strconv.Itoa(next)
			next++
		}
		if err := s.check(target, id, props, cl); err != nil {
			return nil, err
		}
		writes = append(writes, write{target: target, id: id, props: props, trace: in.ObjectWriteTraceID})
	}

	// HubSpot does not promise results in input order: answer in reverse, so a client that
	// assumes it fails here rather than against HubSpot.
	results := make([]object, len(writes))
	for i, wr := range writes {
		created := wr.target == nil
		c := s.apply(wr, now)
		names := make([]string, 0, len(wr.props))
		for k := range wr.props {
			names = append(names, k)
		}
		o := render(c, names)
		o.New = &created
		o.ObjectWriteTraceID = wr.trace
		results[len(writes)-1-i] = o
	}
	return results, nil
}

// decode reads a JSON request body into v, answering HubSpot's 400 for one it cannot read.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return badRequest("Invalid input JSON: " + err.Error())
	}
	return nil
}
