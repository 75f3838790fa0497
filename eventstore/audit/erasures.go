package audit

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// erasureClaims holds each event that reads as erased to its lead's LeadErased, which must come
// after it. An erasure destroys a lead's key, so its earlier events no longer open; but an event
// whose sealed bytes were overwritten, or whose lead's key was deleted behind the ledger's back,
// reads as erased too, with no erasure after it. Memory grows only with the leads whose erased
// events still wait for their erasure.
type erasureClaims map[uuid.UUID]erasureClaim

type erasureClaim struct {
	position int64 // the lead's first erased event not yet followed by its erasure
	// declared is where an export says the erasure is: beyond the file's last event, a range
	// cannot check it, and takes it as declared. 0 in a store.
	declared int64
}

func (c erasureClaims) see(e domain.Event, declared int64) {
	switch {
	case e.Type == domain.LeadErased:
		delete(c, e.LeadID)
	case e.Erased:
		if _, waiting := c[e.LeadID]; !waiting {
			c[e.LeadID] = erasureClaim{position: e.Position, declared: declared}
		}
	}
}

// settle names the first erased event that no erasure followed, up to position last.
func (c erasureClaims) settle(last int64) error {
	var first *erasureClaim
	var lead uuid.UUID
	for id, claim := range c {
		if claim.declared > last {
			continue
		}
		if first == nil || claim.position < first.position {
			first, lead = &claim, id
		}
	}
	if first == nil {
		return nil
	}
	// Its raw body is gone without an erasure: as for a changed body, raw_sha256 is what broke.
	return &eventstore.BrokenChainError{Position: first.position, What: "raw_sha256", Detail: fmt.Sprintf(
		"its raw body does not open and no LeadErased of lead %s follows it: the lead's key was removed or its sealed bytes were replaced", lead)}
}
