// Package salesforce writes leads into Salesforce through its REST API: one sObject
// Collections upsert (PATCH /services/data/vXX.X/composite/sobjects/{Object}/{ExternalIDField},
// at most 200 records, allOrNone false) per batch, matched on an external id field that holds
// the record key, so writing a key again updates its Lead instead of creating another.
//
// It authenticates with the OAuth 2.0 client credentials flow (a token fetched when first
// needed, shared by concurrent calls, fetched again once when Salesforce answers
// INVALID_SESSION_ID) or with a fixed bearer token. Errors follow package crm: a record
// Salesforce refuses comes back in its Outcome.Err as a *RecordError; a rate limit is a
// *crm.Throttled; refused credentials wrap crm.ErrUnauthorized. No error text carries the
// client secret or a token, and nothing is logged.
package salesforce

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Auth types.
const (
	AuthClientCredentials = "client_credentials"
	AuthBearer            = "bearer"
)

// maxBatch is sObject Collections' limit of records per request.
const maxBatch = 200

// Auth holds the credentials.
type Auth struct {
	// Type is "client_credentials" (TokenURL, ClientID, ClientSecret) or "bearer" (Token).
	Type string
	// TokenURL is the org's token endpoint, https://MyDomain.my.salesforce.com/services/oauth2/token.
	// Defaults to InstanceURL + /services/oauth2/token.
	TokenURL string
	// ClientID and ClientSecret are the connected app's consumer key and secret.
	ClientID, ClientSecret string
	// Token is a bearer access token, used as is: when Salesforce refuses it, the call fails
	// with crm.ErrUnauthorized.
	Token string
}

// Config describes a Salesforce destination.
type Config struct {
	// InstanceURL is the org's address (https://MyDomain.my.salesforce.com). Required for
	// bearer; for client_credentials the token reply's instance_url wins when it has one.
	InstanceURL string
	Auth        Auth
	// APIVersion is the REST API version, "v60.0" by default; sObject Collections upsert
	// needs v46.0 or later.
	APIVersion string
	// Object is the sObject written, "Lead" by default.
	Object string
	// ExternalIDField is the External ID field holding the record key, "Ledger_Key__c" by
	// default. Mark it Unique in Salesforce, so two Leads can never share a key.
	ExternalIDField string
	// HTTPClient sends the requests; by default one with a 10 s timeout.
	HTTPClient *http.Client
}

// Client writes records into one Salesforce org. It is safe for concurrent use.
type Client struct {
	cfg      Config
	http     *http.Client
	tokenURL string

	mu       sync.Mutex
	current  session     // the cached session; zero until the first fetch
	fetching *tokenFetch // the token request under way, shared by every caller waiting
	issued   []string    // access tokens received, scrubbed from error texts
}

var (
	identifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	apiVersion = regexp.MustCompile(`^v[0-9]{2,3}\.0$`)
)

// New checks cfg, fills its defaults and returns a client. The error names every missing or
// invalid setting with the sink config's JSON names (instance_url, auth.client_secret, ...).
func New(cfg Config) (*Client, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v60.0"
	}
	if !strings.HasPrefix(cfg.APIVersion, "v") {
		cfg.APIVersion = "v" + cfg.APIVersion
	}
	if cfg.Object == "" {
		cfg.Object = "Lead"
	}
	if cfg.ExternalIDField == "" {
		cfg.ExternalIDField = "Ledger_Key__c"
	}
	cfg.InstanceURL = strings.TrimRight(cfg.InstanceURL, "/")
	var errs []error
	missing := func(name string) { errs = append(errs, fmt.Errorf("%s is required", name)) }

	switch cfg.Auth.Type {
	case AuthClientCredentials:
		if cfg.Auth.TokenURL == "" && cfg.InstanceURL == "" {
			missing("auth.token_url (or instance_url)")
		}
		if cfg.Auth.ClientID == "" {
			missing("auth.client_id")
		}
		if cfg.Auth.ClientSecret == "" {
			missing("auth.client_secret")
		}
	case AuthBearer:
		if cfg.Auth.Token == "" {
			missing("auth.token")
		}
		if cfg.InstanceURL == "" {
			missing("instance_url")
		}
	case "":
		missing(`auth.type ("client_credentials" or "bearer")`)
	default:
		errs = append(errs, fmt.Errorf(`auth.type %q is not "client_credentials" or "bearer"`, cfg.Auth.Type))
	}
	if cfg.InstanceURL != "" {
		errs = append(errs, checkURL("instance_url", cfg.InstanceURL))
	}
	tokenURL := cfg.Auth.TokenURL
	if cfg.Auth.Type == AuthClientCredentials && tokenURL == "" && cfg.InstanceURL != "" {
		tokenURL = cfg.InstanceURL + "/services/oauth2/token"
	}
	if cfg.Auth.TokenURL != "" {
		errs = append(errs, checkURL("auth.token_url", cfg.Auth.TokenURL))
	}
	if !apiVersion.MatchString(cfg.APIVersion) {
		errs = append(errs, fmt.Errorf("api_version %q is not like v60.0", cfg.APIVersion))
	}
	if !identifier.MatchString(cfg.Object) {
		errs = append(errs, fmt.Errorf("object %q is not an sObject API name", cfg.Object))
	}
	if !identifier.MatchString(cfg.ExternalIDField) {
		errs = append(errs, fmt.Errorf("external_id_field %q is not a field API name", cfg.ExternalIDField))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("salesforce config: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, http: hc, tokenURL: tokenURL}, nil
}

// checkURL accepts an absolute http(s) URL without credentials in it.
func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s must be an http(s) URL", name)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not carry credentials", name)
	}
	return nil
}

// MaxBatch is the most records one Upsert may carry: 200, sObject Collections' limit.
func (c *Client) MaxBatch() int { return maxBatch }
