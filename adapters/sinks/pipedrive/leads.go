package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// lead is the part of an API v1 lead the client reads.
type lead struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	PersonID *int    `json:"person_id"`
	OriginID *string `json:"origin_id"`
}

const (
	leadsPath = "/v1/leads"
	// leadsPage is the page size of a person's leads; maxLeadPages bounds the listing of a
	// person with very many leads (the lead sought is then likely among the oldest anyway,
	// as leads list oldest first).
	leadsPage    = 100
	maxLeadPages = 20
)

// getLead reads a lead; gone is true when it no longer exists. Archived leads are found.
func (c *Client) getLead(ctx context.Context, id string) (l lead, gone bool, err error) {
	path := leadsPath + "/" + url.PathEscape(id)
	env, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if statusOf(err) == http.StatusNotFound {
		return lead{}, true, nil
	}
	if err != nil {
		return lead{}, false, err
	}
	if err := decode("GET "+leadsPath+"/{id}", env.Data, &l); err != nil {
		return lead{}, false, err
	}
	return l, false, nil
}

// findLead returns the lead created for the record key among the person's leads, or ok false.
// Pipedrive lists only leads that are not archived, oldest first.
func (c *Client) findLead(ctx context.Context, personID int, key string) (found lead, ok bool, err error) {
	origin := leadOrigin(key)
	for page, start := 0, 0; page < maxLeadPages; page++ {
		q := url.Values{"person_id": {strconv.Itoa(personID)}, "start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(leadsPage)}}
		env, err := c.call(ctx, http.MethodGet, leadsPath, q, nil)
		if err != nil {
			return lead{}, false, err
		}
		var leads []lead
		if err := decode("GET "+leadsPath, env.Data, &leads); err != nil {
			return lead{}, false, err
		}
		for _, l := range leads {
			if l.OriginID != nil && *l.OriginID == origin {
				return l, true, nil
			}
		}
		if !moreLeads(env.AdditionalData) || len(leads) == 0 {
			return lead{}, false, nil
		}
		start += len(leads)
	}
	return lead{}, false, nil
}

// moreLeads reads whether a lead listing has more pages. The leads reference puts
// more_items_in_collection in additional_data; the general responses doc puts it in
// additional_data.pagination. Both are read.
func moreLeads(raw json.RawMessage) bool {
	var more struct {
		More       bool `json:"more_items_in_collection"`
		Pagination struct {
			More bool `json:"more_items_in_collection"`
		} `json:"pagination"`
	}
	_ = json.Unmarshal(raw, &more) // absent or unreadable: no more pages
	return more.More || more.Pagination.More
}

// createLead creates the record's lead, linked to the person and marked with the record's
// origin, and returns its id.
func (c *Client) createLead(ctx context.Context, personID int, w wanted) (string, error) {
	body := map[string]any{"title": w.leadTitle(), "person_id": personID, "origin_id": leadOrigin(w.key)}
	env, err := c.call(ctx, http.MethodPost, leadsPath, nil, body)
	if err != nil {
		return "", err
	}
	var created lead
	if err := decode("POST "+leadsPath, env.Data, &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", fmt.Errorf("pipedrive POST %s: the reply has no lead id", leadsPath)
	}
	return created.ID, nil
}

// retitleLead sets the lead's title when it differs from the record's.
func (c *Client) retitleLead(ctx context.Context, l lead, w wanted) error {
	if l.Title == w.leadTitle() {
		return nil
	}
	_, err := c.call(ctx, http.MethodPatch, leadsPath+"/"+url.PathEscape(l.ID), nil, map[string]any{"title": w.leadTitle()})
	return err
}
