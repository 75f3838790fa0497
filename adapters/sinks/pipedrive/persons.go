package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// person is the part of an API v2 person the client reads.
type person struct {
	ID           int            `json:"id"`
	Name         string         `json:"name"`
	Emails       []contact      `json:"emails"`
	Phones       []contact      `json:"phones"`
	CustomFields map[string]any `json:"custom_fields"`
	IsDeleted    bool           `json:"is_deleted"`
}

// contact is one email or phone of a person, as API v2 writes and reads it.
type contact struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label,omitempty"`
}

// personWrite is an API v2 person create or update body; empty fields are left out.
type personWrite struct {
	Name         string            `json:"name,omitempty"`
	Emails       []contact         `json:"emails,omitempty"`
	Phones       []contact         `json:"phones,omitempty"`
	CustomFields map[string]string `json:"custom_fields,omitempty"`
}

func (pw personWrite) empty() bool {
	return pw.Name == "" && pw.Emails == nil && pw.Phones == nil && len(pw.CustomFields) == 0
}

// findPerson returns the id of the person having email, or 0. Pipedrive's exact match on the
// email field ignores case; among several persons (duplicates made in Pipedrive) the lowest id,
// the oldest, is taken, so that every write picks the same one.
func (c *Client) findPerson(ctx context.Context, email string) (int, error) {
	const path = "/api/v2/persons/search"
	q := url.Values{"term": {email}, "fields": {"email"}, "exact_match": {"true"}}
	env, err := c.call(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return 0, err
	}
	var data struct {
		Items []struct {
			Item struct {
				ID     int      `json:"id"`
				Emails []string `json:"emails"`
			} `json:"item"`
		} `json:"items"`
	}
	if err := decode("GET "+path, env.Data, &data); err != nil {
		return 0, err
	}
	found := 0
	for _, it := range data.Items {
		// The search is trusted, but an item that lists emails must list this one.
		if it.Item.ID <= 0 || (len(it.Item.Emails) > 0 && !hasFold(it.Item.Emails, email)) {
			continue
		}
		if found == 0 || it.Item.ID < found {
			found = it.Item.ID
		}
	}
	return found, nil
}

// getPerson reads a person; gone is true when it no longer exists (404, or marked deleted).
func (c *Client) getPerson(ctx context.Context, id int) (p person, gone bool, err error) {
	path := "/api/v2/persons/" + strconv.Itoa(id)
	env, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if statusOf(err) == http.StatusNotFound {
		return person{}, true, nil
	}
	if err != nil {
		return person{}, false, err
	}
	if err := decode("GET "+path, env.Data, &p); err != nil {
		return person{}, false, err
	}
	return p, p.IsDeleted, nil
}

// createPerson creates the record's person and returns its id.
func (c *Client) createPerson(ctx context.Context, w wanted) (int, error) {
	const path = "/api/v2/persons"
	pw := personWrite{Name: w.personName()}
	if w.email != "" {
		pw.Emails = []contact{{Value: w.email, Primary: true, Label: "work"}}
	}
	if w.phone != "" {
		pw.Phones = []contact{{Value: w.phone, Primary: true, Label: "work"}}
	}
	if len(w.custom) > 0 {
		pw.CustomFields = w.custom
	}
	env, err := c.call(ctx, http.MethodPost, path, nil, pw)
	if err != nil {
		return 0, err
	}
	var created person
	if err := decode("POST "+path, env.Data, &created); err != nil {
		return 0, err
	}
	if created.ID <= 0 {
		return 0, fmt.Errorf("pipedrive POST %s: the reply has no person id", path)
	}
	return created.ID, nil
}

// updatePerson writes where the person differs from the record, and sends nothing when it
// does not: only changes cost API tokens.
func (c *Client) updatePerson(ctx context.Context, p person, w wanted) error {
	pw := personChanges(p, w)
	if pw.empty() {
		return nil
	}
	_, err := c.call(ctx, http.MethodPatch, "/api/v2/persons/"+strconv.Itoa(p.ID), nil, pw)
	return err
}

// personChanges is what must be sent for p to hold what the record asks. Emails and phones,
// when sent, replace the person's lists in API v2, so the person's own entries are sent again
// and the record's is added beside them, never in their place.
func personChanges(p person, w wanted) personWrite {
	var pw personWrite
	if w.name != "" && w.name != p.Name {
		pw.Name = w.name
	}
	if w.email != "" && !hasContact(p.Emails, w.email, strings.EqualFold) {
		pw.Emails = append(append([]contact{}, p.Emails...), contact{Value: w.email, Primary: len(p.Emails) == 0, Label: "work"})
	}
	if w.phone != "" && !hasContact(p.Phones, w.phone, samePhone) {
		pw.Phones = append(append([]contact{}, p.Phones...), contact{Value: w.phone, Primary: len(p.Phones) == 0, Label: "work"})
	}
	for k, v := range w.custom {
		if cur, ok := p.CustomFields[k]; !ok || !sameValue(cur, v) {
			if pw.CustomFields == nil {
				pw.CustomFields = map[string]string{}
			}
			pw.CustomFields[k] = v
		}
	}
	return pw
}

func hasContact(list []contact, value string, same func(a, b string) bool) bool {
	for _, c := range list {
		if same(c.Value, value) {
			return true
		}
	}
	return false
}

func hasFold(list []string, value string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), value) {
			return true
		}
	}
	return false
}

// samePhone compares phones by their digits: Pipedrive keeps a phone as typed, so "+1 555-0100"
// and "+15550100" are one number.
func samePhone(a, b string) bool {
	return digits(a) != "" && digits(a) == digits(b)
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// sameValue compares a custom field's value as API v2 returns it (a string, a number, or an
// object with a value, such as an address) with the text the record holds.
func sameValue(cur any, want string) bool {
	switch v := cur.(type) {
	case nil:
		return false
	case string:
		return v == want
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64) == want
	case map[string]any:
		return sameValue(v["value"], want)
	default:
		return fmt.Sprint(v) == want
	}
}
