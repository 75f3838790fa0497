package sinks

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Sink types besides webhook: CRMs written through their REST APIs, and a NATS stream.
const (
	TypeHubSpot    = "hubspot"
	TypeSalesforce = "salesforce"
	TypePipedrive  = "pipedrive"
	TypeNATS       = "nats"
)

// Modes: one delivery per event, or the record's current state. Stored: never rename.
const (
	ModeEvents   = "events"
	ModeSnapshot = "snapshot"
)

// Record keys of a CRM sink: one record per person (normalised email) or per lead.
const (
	KeyEmail  = "email"
	KeyLeadID = "lead_id"
)

func isCRM(sinkType string) bool {
	return sinkType == TypeHubSpot || sinkType == TypeSalesforce || sinkType == TypePipedrive
}

// RateLimit caps the API calls a sink makes: Requests per PerSeconds.
type RateLimit struct {
	Requests   int     `json:"requests"`
	PerSeconds float64 `json:"per_seconds"`
}

// defaultRateLimits are the CRMs' published burst limits for their lowest tier: HubSpot 100 per
// 10 s for a private app; Pipedrive 20 per 2 s (Lite). Salesforce publishes only a daily limit
// and at most 25 concurrent long requests: 25/s keeps well inside both.
var defaultRateLimits = map[string]RateLimit{
	TypeHubSpot:    {Requests: 100, PerSeconds: 10},
	TypeSalesforce: {Requests: 25, PerSeconds: 1},
	TypePipedrive:  {Requests: 20, PerSeconds: 2},
}

func (l RateLimit) validate() error {
	if l.Requests < 0 || l.PerSeconds < 0 || (l.Requests > 0) != (l.PerSeconds > 0) {
		return invalid("Invalid rate_limit: requests and per_seconds must both be positive (or both 0: no limit)")
	}
	return nil
}

// hubspotConfig is a HubSpot sink's config.
type hubspotConfig struct {
	BaseURL    string `json:"base_url"`
	Token      string `json:"token"`
	IDProperty string `json:"id_property"`
}

// salesforceConfig is a Salesforce sink's config.
type salesforceConfig struct {
	InstanceURL string `json:"instance_url"`
	Auth        struct {
		Type         string `json:"type"`
		TokenURL     string `json:"token_url"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Token        string `json:"token"`
	} `json:"auth"`
	APIVersion      string `json:"api_version"`
	Object          string `json:"object"`
	ExternalIDField string `json:"external_id_field"`
}

// pipedriveConfig is a Pipedrive sink's config.
type pipedriveConfig struct {
	BaseURL string `json:"base_url"`
	Token   string `json:"token"`
}

// natsConfig is a NATS sink's config.
type natsConfig struct {
	URL     string `json:"url"`
	Subject string `json:"subject"`
}

// secretConfigKeys are the config keys that hold credentials: never shown, never logged.
var secretConfigKeys = []string{"token", "client_secret"}

// decodeConfig reads a sink's config into its type's struct; an unknown key is an error.
func decodeConfig[T any](raw json.RawMessage) (T, error) {
	var c T
	if len(raw) == 0 {
		return c, invalid("Missing required field: config")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, invalid("Invalid config: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return c, nil
}

// validateConfig checks a sink's config for its type, naming the missing or wrong field.
func validateConfig(sinkType string, raw json.RawMessage) error {
	var err error
	switch sinkType {
	case TypeHubSpot:
		var c hubspotConfig
		if c, err = decodeConfig[hubspotConfig](raw); err == nil {
			err = errors.Join(optionalURL("config.base_url", c.BaseURL), required("config.token", c.Token))
		}
	case TypeSalesforce:
		var c salesforceConfig
		if c, err = decodeConfig[salesforceConfig](raw); err == nil {
			err = c.validate()
		}
	case TypePipedrive:
		var c pipedriveConfig
		if c, err = decodeConfig[pipedriveConfig](raw); err == nil {
			err = errors.Join(optionalURL("config.base_url", c.BaseURL), required("config.token", c.Token))
		}
	case TypeNATS:
		var c natsConfig
		if c, err = decodeConfig[natsConfig](raw); err == nil {
			err = validateNATS(c)
		}
	}
	if err != nil && !errors.Is(err, ErrInvalid) {
		return invalid("%v", err)
	}
	return err
}

func (c salesforceConfig) validate() error {
	errs := []error{optionalURL("config.instance_url", c.InstanceURL)}
	switch c.Auth.Type {
	case "client_credentials":
		errs = append(errs, required("config.auth.token_url", c.Auth.TokenURL), optionalURL("config.auth.token_url", c.Auth.TokenURL),
			required("config.auth.client_id", c.Auth.ClientID), required("config.auth.client_secret", c.Auth.ClientSecret))
	case "bearer":
		errs = append(errs, required("config.instance_url", c.InstanceURL), required("config.auth.token", c.Auth.Token))
	case "":
		errs = append(errs, invalid("Missing required field: config.auth.type"))
	default:
		errs = append(errs, invalid(`Invalid config.auth.type: must be "client_credentials" or "bearer"`))
	}
	return firstError(errs...)
}

func required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return invalid("Missing required field: %s", field)
	}
	return nil
}

func optionalURL(field, value string) error {
	if value == "" {
		return nil
	}
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("Invalid %s: must be an absolute http or https URL", field)
	}
	return nil
}

// firstError keeps a reply to one problem, the first, as the other validations do.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// publicConfig is a sink's config as the API shows it: without its credentials.
func publicConfig(raw json.RawMessage) map[string]any {
	var c map[string]any
	if json.Unmarshal(raw, &c) != nil || c == nil {
		return map[string]any{}
	}
	dropSecrets(c)
	return c
}

func dropSecrets(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			dropSecrets(v)
		case string:
			if slices.Contains(secretConfigKeys, k) {
				m[k] = "REDACTED"
			} else {
				m[k] = redactURL(v)
			}
		}
	}
}

// redactURL hides the credentials a URL may carry (user info, query values: a NATS URL's
// password, a token in a query); other text is returned as it is.
func redactURL(text string) string {
	u, err := url.Parse(text)
	if err != nil || u.Scheme == "" || u.Host == "" || (u.User == nil && u.RawQuery == "") {
		return text
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// configOrigin is where a CRM or NATS sink sends, for the sink's url: scheme and host only.
func configOrigin(sinkType string, raw json.RawMessage) string {
	var c struct {
		BaseURL     string `json:"base_url"`
		InstanceURL string `json:"instance_url"`
		URL         string `json:"url"`
	}
	_ = json.Unmarshal(raw, &c)
	target := c.BaseURL + c.InstanceURL + c.URL
	if target == "" {
		target = map[string]string{TypeHubSpot: "https://api.hubapi.com", TypePipedrive: "https://api.pipedrive.com"}[sinkType]
	}
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
