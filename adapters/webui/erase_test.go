package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// erased says whether a lead's newest event is its erasure.
func erased(t *testing.T, l *ledger, lead uuid.UUID) bool {
	t.Helper()
	events, err := l.store.ReadStream(context.Background(), lead)
	if err != nil || len(events) == 0 {
		t.Fatalf("read lead %s: %d events, %v", lead, len(events), err)
	}
	return events[len(events)-1].Type == domain.LeadErased
}

// sarahsData is what the seed's bodies say of Sarah, as it could appear on a page.
var sarahsData = []string{"sarah", "connor", "cyberdyne", "555 0199", "555 0100", "880123"}

// operatorErases: an operator erases Sarah on her page, after the refusals (no CSRF token, a
// wrong one, the lead's id not typed). Her page then tells who erased her and when, keeps her
// history with each event's evidence still checked, and shows nothing of her; the event log
// marks her events erased, and the leads search no longer finds her.
func operatorErases(t *testing.T, l *ledger, s story, p *person, shots bool) {
	ctx := context.Background()
	lead := s.sarah[0].LeadID
	page := "/ui/leads/" + lead.String()
	if status := p.signIn(operatorToken); status != http.StatusOK {
		t.Fatalf("operator sign-in: %d", status)
	}
	if status := p.open(page); status != http.StatusOK {
		t.Fatalf("Sarah's page: %d", status)
	}
	if n := p.count("#erase form[action='" + page + "/erase'] button.op-erase"); n != 1 {
		t.Fatalf("the operator sees %d erase buttons on Sarah's page, want 1", n)
	}
	if shots {
		p.screenshot("lead-operator", false)
	}

	session, csrf := p.cookie("leadledger_session").Value, p.formToken()
	target := l.url + page + "/erase"
	confirmed := url.Values{"confirm": {lead.String()}}
	if status := post(t, target, session, confirmed); status != http.StatusForbidden {
		t.Errorf("an erasure without the CSRF token answered %d, want 403", status)
	}
	if status := post(t, target, session, url.Values{"csrf": {"forged"}, "confirm": {lead.String()}}); status != http.StatusForbidden {
		t.Errorf("an erasure with a wrong CSRF token answered %d, want 403", status)
	}
	resp := send(t, client, http.MethodPost, target, session, url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"#erase" {
		t.Errorf("an erasure without the lead's id typed: %d to %q, want back to the page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if erased(t, l, lead) {
		t.Fatal("Sarah was erased without the CSRF token or her id typed")
	}
	nobody := uuid.New().String()
	if status := post(t, l.url+"/ui/leads/"+nobody+"/erase", session, url.Values{"csrf": {csrf}, "confirm": {nobody}}); status != http.StatusNotFound {
		t.Errorf("erasing a lead without events answered %d, want 404", status)
	}
	p.open(page)
	if got := p.text(".flash.error"); !strings.HasPrefix(got, "Nothing was erased") {
		t.Errorf("after an erasure not confirmed: %q", got)
	}

	// The erasure, as a person does it: the id typed, the button pressed.
	p.typeInto("#erase-confirm", lead.String())
	if status := p.click("#erase button.op-erase"); status != http.StatusOK || !strings.HasSuffix(p.location(), page) {
		t.Fatalf("after erasing: %d at %s, want Sarah's page", status, p.location())
	}
	if got := p.text(".flash"); !strings.HasPrefix(got, "This lead's personal data was erased.") {
		t.Errorf("after erasing: %q", got)
	}
	events, err := l.store.ReadStream(ctx, lead)
	if err != nil || len(events) != len(s.sarah)+1 || events[len(events)-1].Type != domain.LeadErased {
		t.Fatalf("after erasing, Sarah's stream: %d events, %v", len(events), err)
	}
	erasure := events[len(events)-1]
	var who domain.Erasure
	if err := json.Unmarshal(erasure.Raw, &who); err != nil || who.ErasedBy != "ops" {
		t.Fatalf("the erasure's body %s: %v", erasure.Raw, err)
	}
	// A checkpoint signed after the erasure: every event, erased or not, is proved in it.
	checkpoint, err := l.checkpoints.Step(ctx)
	if err != nil {
		t.Fatalf("sign a checkpoint: %v", err)
	}
	p.open(page)
	checkErasedPage(t, p, s, erasure, who, fmt.Sprintf("in checkpoint %d ✓", checkpoint.TreeSize))
	if shots {
		p.screenshot("lead-erased", false)
		p.screenshot("lead-erased-phone", true)
	}

	// Erasing again changes nothing, and says when it was done.
	if status := post(t, target, session, url.Values{"csrf": {csrf}, "confirm": {lead.String()}}); status != http.StatusSeeOther {
		t.Errorf("a second erasure answered %d, want 303", status)
	}
	if again, _ := l.store.ReadStream(ctx, lead); len(again) != len(events) {
		t.Errorf("a second erasure stored an event: %d events, want %d", len(again), len(events))
	}
	p.open(page)
	if got, want := p.text(".flash"), "This lead's personal data was already erased, on "+who.ErasedAt.UTC().Format("2006-01-02 15:04:05 UTC")+" by ops."; got != want {
		t.Errorf("after a second erasure: %q, want %q", got, want)
	}

	p.open("/ui/events")
	types, err := chromedp.Run(p.ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("#events tbody tr")].map(
		r => [r.querySelector("td.pos").textContent, r.querySelector("td[data-label=Type]").textContent.replace(/\s+/g, " ").trim()]))`))
	if err != nil {
		t.Fatalf("read the event log: %v", err)
	}
	for _, e := range append(s.sarah, erasure) {
		want := string(e.Type) + " erased"
		if e.Type == domain.LeadErased {
			want = string(e.Type)
		}
		if got := types[fmt.Sprint(e.Position)]; got != want {
			t.Errorf("the event log shows position %d as %q, want %q", e.Position, got, want)
		}
	}
	if n := p.count("#events .badge.erased"); n != len(s.sarah) {
		t.Errorf("the event log marks %d events erased, want Sarah's %d", n, len(s.sarah))
	}

	// The lead view deletes an erased lead's row (projections), so no search finds her.
	if err := l.view.WaitFor(ctx, erasure.Position, 10*time.Second); err != nil {
		t.Fatalf("lead view did not reach the erasure: %v", err)
	}
	for _, search := range []string{"email=sarah%40example.com", "q=Connor", "q=Cyberdyne"} {
		p.open("/ui/leads?" + search)
		if n := p.count("#leads tbody tr"); n != 0 {
			t.Errorf("the leads search %s still finds %d leads after Sarah's erasure (the lead view must delete an erased lead's row)", search, n)
		}
	}
}

// checkErasedPage checks Sarah's page after her erasure.
func checkErasedPage(t *testing.T, p *person, s story, erasure domain.Event, who domain.Erasure, proof string) {
	t.Helper()
	at := who.ErasedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	if got, want := p.text("#erasure-notice strong"), "Personal data erased on "+at+" by ops"; got != want {
		t.Errorf("the erasure notice: %q, want %q", got, want)
	}
	if got := p.text("#lead-name"); got != "Erased lead" {
		t.Errorf("the erased lead is named %q", got)
	}
	if n := p.count("#timeline > li.event"); n != len(s.sarah)+1 {
		t.Errorf("the timeline shows %d events, want Sarah's %d and the erasure", n, len(s.sarah))
	}
	for _, e := range s.sarah {
		sel := "#event-" + e.ID.String()
		if got := p.text(sel + " .event-head .badge.erased"); got != "erased" {
			t.Errorf("event %d has no erased badge: %q", e.Position, got)
		}
		if n := p.count(sel + " .raw-body, " + sel + " .changes:not(.erasure)"); n != 0 {
			t.Errorf("erased event %d still shows %d raw bodies or changes", e.Position, n)
		}
		if got := p.text(sel + " .raw-sha"); got != e.RawSHA256+" body erased" {
			t.Errorf("erased event %d shows raw_sha256 %q", e.Position, got)
		}
		if got := p.text(sel + " .chain-hash"); got != e.Hash {
			t.Errorf("erased event %d shows hash %q, want %q", e.Position, got, e.Hash)
		}
		if got := p.text(sel + " .chain-check"); !strings.HasPrefix(got, "recomputed ✓") {
			t.Errorf("erased event %d chain check %q", e.Position, got)
		}
		if got := p.text(sel + " .proof"); got != proof {
			t.Errorf("erased event %d proof %q, want %q", e.Position, got, proof)
		}
	}
	sel := "#event-" + erasure.ID.String()
	if got := p.text(sel + " .erased-by"); got != "ops" {
		t.Errorf("the erasure shows it was asked for by %q", got)
	}
	if got := p.text(sel + " .erased-at"); got != at {
		t.Errorf("the erasure shows it was done at %q, want %s", got, at)
	}
	if got := p.text(sel + " .raw-sha"); got != erasure.RawSHA256+" matches the body" {
		t.Errorf("the erasure shows raw_sha256 %q", got)
	}
	if got := p.text(sel + " .proof"); got != proof {
		t.Errorf("the erasure's proof %q, want %q", got, proof)
	}
	// The CRM sink forgets the lead when it reaches the erasure; until then its record is
	// listed without its key (usually the person's email).
	switch {
	case p.count("#destinations") == 1:
		if got := p.text("#destinations"); !strings.Contains(got, "hubspot") || !strings.Contains(got, "(its key is erased data)") {
			t.Errorf("destinations after the erasure: %q", got)
		}
	case p.count("#no-destinations") != 1:
		t.Errorf("the erased lead's page shows neither its destinations nor that there are none")
	}
	if n := p.count("#erase, button.op-erase"); n != 0 {
		t.Errorf("an erased lead's page still offers %d erase controls", n)
	}
	noPersonalData(t, p)
}

// noPersonalData checks the whole page, markup included, for anything of Sarah's.
func noPersonalData(t *testing.T, p *person) {
	t.Helper()
	page := strings.ToLower(p.html())
	for _, s := range sarahsData {
		if strings.Contains(page, s) {
			t.Errorf("%s shows Sarah's %q after her erasure", p.location(), s)
		}
	}
}
