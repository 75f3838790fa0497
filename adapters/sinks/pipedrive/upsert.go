package pipedrive

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// upsert writes one record, advancing p as each step succeeds so that an interrupted attempt
// can be resumed. A record-level rejection comes back in the Outcome, a call-level error as
// the error.
func (c *Client) upsert(ctx context.Context, r crm.Record, p *progress) (crm.Outcome, error) {
	w := wantedOf(r)
	// Ids from an interrupted attempt of this call come first: they are the newest.
	if id, err := strconv.Atoi(r.ExternalIDs["person_id"]); p.personID == 0 && err == nil && id > 0 {
		p.personID = id
	}
	if p.leadID == "" {
		p.leadID = r.ExternalIDs["lead_id"]
	}
	err := c.ensurePerson(ctx, w, p)
	if err == nil {
		err = c.ensureLead(ctx, w, p)
	}
	if message, ok := rejected(err); ok {
		out := p.outcome()
		out.Err = errors.New(message)
		return out, nil
	}
	if err != nil {
		return crm.Outcome{}, err
	}
	return p.outcome(), nil
}

// ensurePerson brings the record's person up to date, or creates it: by the remembered id,
// else by exact email, else anew.
func (c *Client) ensurePerson(ctx context.Context, w wanted, p *progress) error {
	if p.personID != 0 {
		ok, err := c.refreshPerson(ctx, p.personID, w)
		if ok || err != nil {
			return err
		}
		p.personID, p.personCreated = 0, false // gone: merged or deleted in Pipedrive
	}
	if w.email != "" {
		// A person this Client created lately comes first: Pipedrive's search may not show
		// it yet, and a second record with the email (key lead_id) would make another.
		if id := c.memo.createdWith(w.email); id != 0 {
			ok, err := c.refreshPerson(ctx, id, w)
			if ok {
				p.personID = id
			}
			if ok || err != nil {
				return err
			}
			c.memo.forgetPerson(w.email)
		}
		id, err := c.findPerson(ctx, w.email)
		if err != nil {
			return err
		}
		if id != 0 {
			ok, err := c.refreshPerson(ctx, id, w)
			if ok {
				p.personID = id
			}
			if ok || err != nil {
				return err
			}
			// Found, then gone before it could be read: a new person is the record's.
		}
	}
	id, err := c.createPerson(ctx, w)
	if err != nil {
		return err
	}
	p.personID, p.personCreated, p.leadUnsure = id, true, false
	if w.email != "" {
		c.memo.personCreated(w.email, id)
	}
	return nil
}

// refreshPerson reads a person and writes where it differs from the record; ok is false when
// the person no longer exists.
func (c *Client) refreshPerson(ctx context.Context, id int, w wanted) (ok bool, err error) {
	cur, gone, err := c.getPerson(ctx, id)
	if gone || err != nil {
		return false, err
	}
	err = c.updatePerson(ctx, cur, w)
	if statusOf(err) == http.StatusNotFound {
		return false, nil
	}
	return true, err
}

// ensureLead brings the record's lead up to date, or creates it: by the remembered id while
// that lead is still the person's, else by the record's origin among the person's leads,
// else anew.
func (c *Client) ensureLead(ctx context.Context, w wanted, p *progress) error {
	if p.leadID != "" {
		l, gone, err := c.getLead(ctx, p.leadID)
		if err != nil {
			return err
		}
		// A lead linked elsewhere in Pipedrive (by a user, or to a person since deleted) is
		// left alone: the record's lead is the one of its person.
		if !gone && (l.PersonID == nil || *l.PersonID == p.personID) {
			err = c.retitleLead(ctx, l, w)
			if statusOf(err) != http.StatusNotFound {
				return err
			}
		}
		p.leadID = ""
	}
	// A person created for the record has no lead yet, unless a create went unanswered.
	if !p.personCreated || p.leadUnsure {
		l, ok, err := c.findLead(ctx, p.personID, w.key)
		if err != nil {
			return err
		}
		if ok {
			p.leadID, p.leadUnsure = l.ID, false
			return c.retitleLead(ctx, l, w)
		}
	}
	p.leadUnsure = true
	id, err := c.createLead(ctx, p.personID, w)
	if err != nil {
		if refused(err) {
			p.leadUnsure = false // answered, so not created
		}
		return err
	}
	p.leadID, p.leadUnsure = id, false
	return nil
}

// outcome is the Outcome of a record written this far.
func (p progress) outcome() crm.Outcome {
	out := crm.Outcome{Created: p.personCreated, ExternalIDs: map[string]string{}}
	if p.personID != 0 {
		out.ExternalID = strconv.Itoa(p.personID)
		out.ExternalIDs["person_id"] = out.ExternalID
	}
	if p.leadID != "" {
		out.ExternalIDs["lead_id"] = p.leadID
	}
	return out
}
