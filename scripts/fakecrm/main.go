// Command fakecrm serves the in-memory HubSpot, Salesforce and Pipedrive fakes of the
// subdirectories on one listener, each under its own path prefix, for demos and benchmarks of
// the ledger's CRM sinks. Nothing leaves the machine; everything is lost when it stops.
//
//	go run ./scripts/fakecrm -listen 127.0.0.1:9090
//	go run ./scripts/fakecrm -hubspot-rate 100 -hubspot-window 10s   # HubSpot's real burst limit
//
// A sink's base URL is the listener plus the fake's prefix:
//
//	hubspot     {"base_url":"http://127.0.0.1:9090/hubspot","token":"demo-hubspot-token","id_property":"ledger_key"}
//	salesforce  {"instance_url":"http://127.0.0.1:9090/salesforce","auth":{"type":"client_credentials",
//	             "token_url":"http://127.0.0.1:9090/salesforce/services/oauth2/token",
//	             "client_id":"demo-salesforce-client","client_secret":"demo-salesforce-secret"},
//	             "external_id_field":"Ledger_Key__c"}
//	pipedrive   {"base_url":"http://127.0.0.1:9090/pipedrive","token":"demo-pipedrive-token"}
//
// Rate limits are off unless a flag sets them (0 = off): -hubspot-rate N -hubspot-window D
// (a rolling window, 429 past it), -hubspot-daily N; -pipedrive-burst N -pipedrive-window D,
// -pipedrive-search-burst N, -pipedrive-daily TOKENS (Pipedrive's token budget);
// -salesforce-daily N. Credentials: -hubspot-token, -salesforce-client-id,
// -salesforce-client-secret, -pipedrive-token. The defaults are printed at start.
//
// Reading back what landed, with the default credentials:
//
//	# HubSpot contacts, 100 a page; follow paging.next.after for the next page
//	curl -s -H 'Authorization: Bearer demo-hubspot-token' \
//	  'http://127.0.0.1:9090/hubspot/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname,ledger_key'
//	curl -s -H 'Authorization: Bearer demo-hubspot-token' \
//	  'http://127.0.0.1:9090/hubspot/crm/v3/objects/contacts/visitor1@example.com?idProperty=email'
//	# Salesforce: get a token, then read a Lead by its external id (or by Email)
//	tok=$(curl -s -d grant_type=client_credentials -d client_id=demo-salesforce-client \
//	  -d client_secret=demo-salesforce-secret http://127.0.0.1:9090/salesforce/services/oauth2/token |
//	  sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//	curl -s -H "Authorization: Bearer $tok" \
//	  http://127.0.0.1:9090/salesforce/services/data/v60.0/sobjects/Lead/Ledger_Key__c/visitor1@example.com
//	# Pipedrive: a person by exact email, then that person's leads
//	curl -s -H 'x-api-token: demo-pipedrive-token' \
//	  'http://127.0.0.1:9090/pipedrive/api/v2/persons/search?term=visitor1@example.com&fields=email&exact_match=true'
//	curl -s -H 'x-api-token: demo-pipedrive-token' 'http://127.0.0.1:9090/pipedrive/v1/leads?person_id=1'
//
// These reads are API calls like any other: they count in the fakes' calls and rate limits.
// GET /stats does not: it answers the counts per fake as JSON, for benchmarks and a quick look:
//
//	curl -s http://127.0.0.1:9090/stats
//	{"hubspot":{"contacts":200000,"calls":2000,"throttled":0},"salesforce":{...},"pipedrive":{...}}
//
// /stats copies each fake's records to count them (the fakes keep no count), so it costs time
// in proportion to their number: poll it between runs, not in a tight loop.
//
// The Salesforce fake answers a token request with the request's scheme and Host as the
// instance_url, which the client then prefers to its configured one; fakecrm adds the prefix
// to the Host it sees there, so the instance_url comes back as http://HOST/salesforce.
//
// SIGINT or SIGTERM stops it after the requests under way (5 s at most).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

type options struct {
	listen string

	hubspot     fakehubspot.Config
	hubspotKeys string

	salesforce    fakesalesforce.Config
	salesforceIDs string

	pipedrive fakepipedrive.Config
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:9090", "address to listen on (loopback by default: the fakes take any data)")

	flag.StringVar(&o.hubspot.Token, "hubspot-token", "demo-hubspot-token", `HubSpot private-app token ("": accept any)`)
	flag.StringVar(&o.hubspotKeys, "hubspot-unique", "ledger_key", "HubSpot contact properties that are unique (comma-separated; email always is)")
	flag.IntVar(&o.hubspot.RateLimit, "hubspot-rate", 0, "HubSpot requests per rolling -hubspot-window, 429 past it (HubSpot: 100 per 10s; 0 = off)")
	flag.DurationVar(&o.hubspot.RateWindow, "hubspot-window", 10*time.Second, "HubSpot's rolling rate window")
	flag.IntVar(&o.hubspot.DailyLimit, "hubspot-daily", 0, "HubSpot requests per day, 429 DAILY past it (0 = off)")

	flag.StringVar(&o.salesforce.ClientID, "salesforce-client-id", "demo-salesforce-client", "Salesforce connected app's client id")
	flag.StringVar(&o.salesforce.ClientSecret, "salesforce-client-secret", "demo-salesforce-secret", "Salesforce connected app's client secret")
	flag.StringVar(&o.salesforceIDs, "salesforce-external-ids", "Ledger_Key__c", "Lead fields marked External ID (comma-separated)")
	flag.IntVar(&o.salesforce.DailyLimit, "salesforce-daily", 0, "Salesforce API requests per day, REQUEST_LIMIT_EXCEEDED past it (0 = off)")
	flag.BoolVar(&o.salesforce.DuplicateRule, "salesforce-duplicate-rule", false, "refuse a new Lead whose Email another Lead has (DUPLICATES_DETECTED)")

	flag.StringVar(&o.pipedrive.Token, "pipedrive-token", "demo-pipedrive-token", `Pipedrive API token ("": accept any)`)
	flag.IntVar(&o.pipedrive.BurstLimit, "pipedrive-burst", 0, "Pipedrive requests per rolling -pipedrive-window (Lite: 20 per 2s; 0 = off)")
	flag.DurationVar(&o.pipedrive.BurstWindow, "pipedrive-window", 2*time.Second, "Pipedrive's rolling burst window")
	flag.IntVar(&o.pipedrive.SearchBurstLimit, "pipedrive-search-burst", 0, "Pipedrive searches per window (Pipedrive: 10 per 2s; 0 = off)")
	flag.IntVar(&o.pipedrive.DailyBudget, "pipedrive-daily", 0, "Pipedrive's daily API token budget (search costs 20, a person write 5, a lead write 10; 0 = off)")
	flag.Parse()
	o.hubspot.UniqueProperties = split(o.hubspotKeys)
	o.salesforce.ExternalIDFields = split(o.salesforceIDs)

	if err := run(o); err != nil {
		log.Fatalf("fakecrm: %v", err)
	}
}

func split(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func run(o options) error {
	hs := fakehubspot.New(o.hubspot)
	sf := fakesalesforce.New(o.salesforce)
	pd := fakepipedrive.New(o.pipedrive)

	mux := http.NewServeMux()
	mux.Handle("/hubspot/", http.StripPrefix("/hubspot", hs))
	mux.Handle("/salesforce/", http.StripPrefix("/salesforce", salesforceInstance("/salesforce", sf)))
	mux.Handle("/pipedrive/", http.StripPrefix("/pipedrive", pd))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(collect(hs, sf, pd))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "fakecrm: /hubspot/, /salesforce/, /pipedrive/ are the fakes' APIs; GET /stats counts what they hold.\n")
	})

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Printf("fakecrm: hubspot    %s/hubspot     token %q, unique %s, rate %s, daily %s\n", base,
		o.hubspot.Token, strings.Join(o.hubspot.UniqueProperties, ","), limit(o.hubspot.RateLimit, o.hubspot.RateWindow), limit(o.hubspot.DailyLimit, 0))
	fmt.Printf("fakecrm: salesforce %s/salesforce  client_id %q, client_secret %q, token_url %s/salesforce/services/oauth2/token, external ids %s, daily %s\n",
		base, o.salesforce.ClientID, o.salesforce.ClientSecret, base, strings.Join(o.salesforce.ExternalIDFields, ","), limit(o.salesforce.DailyLimit, 0))
	fmt.Printf("fakecrm: pipedrive  %s/pipedrive   token %q, burst %s, search %s, daily tokens %s\n", base,
		o.pipedrive.Token, limit(o.pipedrive.BurstLimit, o.pipedrive.BurstWindow), limit(o.pipedrive.SearchBurstLimit, o.pipedrive.BurstWindow), limit(o.pipedrive.DailyBudget, 0))
	fmt.Printf("fakecrm: stats      %s/stats\n", base)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// salesforceInstance makes the fake's token replies name the prefixed address: it builds
// instance_url from the request's Host, and the client then sends every data call there.
func salesforceInstance(prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			r.Host += prefix // r is StripPrefix's copy: the change stays with this request
		}
		h.ServeHTTP(w, r)
	})
}

func limit(n int, per time.Duration) string {
	switch {
	case n <= 0:
		return "off"
	case per > 0:
		return fmt.Sprintf("%d per %s", n, per)
	}
	return fmt.Sprint(n)
}

type stats struct {
	HubSpot struct {
		Contacts  int `json:"contacts"`
		Calls     int `json:"calls"`
		Throttled int `json:"throttled"`
	} `json:"hubspot"`
	Salesforce struct {
		Leads         int `json:"leads"`
		Calls         int `json:"calls"`
		TokenRequests int `json:"token_requests"`
	} `json:"salesforce"`
	Pipedrive struct {
		Persons     int `json:"persons"`
		Leads       int `json:"leads"`
		Calls       int `json:"calls"`
		Throttled   int `json:"throttled"`
		TokensSpent int `json:"tokens_spent"`
	} `json:"pipedrive"`
}

// collect reads the fakes' counters. The record counts come from copies of the records (the
// fakes export no count), which is why /stats is not meant to be polled fast.
func collect(hs *fakehubspot.Server, sf *fakesalesforce.Server, pd *fakepipedrive.Server) stats {
	var s stats
	s.HubSpot.Contacts, s.HubSpot.Calls, s.HubSpot.Throttled = len(hs.Contacts()), hs.Calls(), hs.Throttled()
	s.Salesforce.Leads, s.Salesforce.Calls, s.Salesforce.TokenRequests = len(sf.Leads()), sf.Calls(), sf.TokenRequests()
	s.Pipedrive.Persons, s.Pipedrive.Leads = len(pd.Persons()), len(pd.Leads())
	s.Pipedrive.Calls, s.Pipedrive.Throttled, s.Pipedrive.TokensSpent = pd.Calls(), pd.Throttled(), pd.TokensSpent()
	return s
}
