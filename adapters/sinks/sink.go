// Package sinks delivers the log to the systems engineers add after the fact: each sink has
// its own cursor over the log, advanced only past acknowledged events, and replays re-deliver
// any range of the log beside live delivery. A webhook sink POSTs each event signed as
// Standard Webhooks; CRM adapters are further sink types.
package sinks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// Status is a sink's delivery state. Stored: never rename.
type Status string

// Sink statuses. Active and failing sinks deliver; failing says recent attempts failed.
const (
	StatusActive   Status = "active"
	StatusPaused   Status = "paused"
	StatusFailing  Status = "failing"
	StatusDisabled Status = "disabled" // the receiver answered 410 Gone; resume re-enables
)

// TypeWebhook is the sink type that POSTs each event to a URL.
const TypeWebhook = "webhook"

// Filter selects the events a sink receives. Empty lists match everything.
type Filter struct {
	Types   []domain.EventType `json:"types"`
	Sources []string           `json:"sources"`
}

// and narrows f by g: an event must match both.
func (f Filter) and(g Filter) Filter {
	return Filter{Types: intersect(f.Types, g.Types), Sources: intersect(f.Sources, g.Sources)}
}

// intersect of two "empty means everything" lists. Two disjoint lists match nothing, which
// an empty list cannot say: a value no event carries stands for it.
func intersect[T comparable](a, b []T) []T {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	var out []T
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		var none T
		out = []T{none}
	}
	return out
}

func (f Filter) store(upTo int64) eventstore.Filter {
	return eventstore.Filter{Types: f.Types, Sources: f.Sources, UpTo: upTo}
}

// Sink is a system that receives the log.
type Sink struct {
	ID        uuid.UUID
	Name      string
	Type      string
	URL       string
	Secret    string // whsec_...; never returned by the API nor logged
	Filter    Filter
	Mode      string          // ModeEvents or ModeSnapshot
	RecordKey string          // CRM sinks: KeyEmail or KeyLeadID
	Config    json.RawMessage // CRM and NATS sinks: where and how to write, credentials included
	Mapping   Mapping         // CRM sinks: lead field -> CRM field
	RateLimit RateLimit       // API calls at most; zero: none
	RetryAt   *time.Time      // a sink parked by a daily limit tries again then
	Status    Status
	Position  int64 // every matching event up to here was acknowledged (or given up)
	Delivered int64
	Failed    int64 // events given up after every retry
	LastError string
	CreatedAt time.Time

	// OldSecret is the secret a rotation replaced: deliveries are signed with it too until
	// OldSecretExpiresAt, so receivers can switch secrets without losing a delivery.
	OldSecret          string
	OldSecretExpiresAt *time.Time
}

// RedactedURL is the URL for the API and logs: credentials in it (user info, query values,
// where receivers often take a token) are replaced by "REDACTED".
func (s Sink) RedactedURL() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	for k := range q {
		q[k] = []string{"REDACTED"}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redact replaces the credentials of the sink's URL (see credentials) in a text from its
// receiver, which may echo the request it got.
func (s Sink) redact(text string) string {
	for _, c := range s.credentials() {
		text = strings.ReplaceAll(text, c, "REDACTED")
	}
	return text
}

// credentials are the forms, as given and as sent, of what the sink's URL may carry as a
// secret: its user info, its query values, and its path (Slack's and Zapier's hooks keep their
// secret there). Values shorter than 6 characters (a version, a flag) are left out: replacing
// them would garble a text.
func (s Sink) credentials() []string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil
	}
	values := []string{u.Path, u.EscapedPath()}
	if u.User != nil {
		password, _ := u.User.Password()
		basic := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + password))
		values = append(values, u.User.Username(), password, basic)
	}
	for _, vs := range u.Query() {
		values = append(values, vs...)
	}
	var forms []string
	for _, v := range values {
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if len(form) >= 6 && !slices.Contains(forms, form) {
				forms = append(forms, form)
			}
		}
	}
	return forms
}

// Origin is the URL without anything that may be a secret: scheme and host. A deleted sink
// keeps only that, and logs name no more.
func (s Sink) Origin() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// NewSink is what an engineer asks for when adding a sink.
type NewSink struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
	Filter Filter `json:"filter"`
	// Mode is "events" or "snapshot"; CRM sinks default to snapshot, the others to events.
	Mode string `json:"mode"`
	// Key is a CRM record's key: "email" (one record per person, the default) or "lead_id".
	Key string `json:"key"`
	// Config is a CRM's or NATS's settings, credentials included (CONTRACT.md).
	Config json.RawMessage `json:"config"`
	// Mapping replaces the CRM's default mapping when given.
	Mapping Mapping `json:"mapping"`
	// RateLimit defaults to the CRM's published burst limit.
	RateLimit *RateLimit `json:"rate_limit"`
	// Start is "now" (only new events) or "beginning" (the whole log first). Defaults to "now".
	Start string `json:"start"`
}

// ErrInvalid wraps every reason a request is refused; its text names the field.
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate reports the first problem of the request, naming the field.
func (n NewSink) Validate() error {
	switch {
	case strings.TrimSpace(n.Name) == "":
		return invalid("Missing required field: name")
	case n.Type == "":
		return invalid("Missing required field: type")
	case n.Type != TypeWebhook && n.Type != TypeNATS && !isCRM(n.Type):
		return invalid("Unsupported sink type: %q (supported: webhook, hubspot, salesforce, pipedrive, nats)", n.Type)
	case n.Start != "" && n.Start != "now" && n.Start != "beginning":
		return invalid(`Invalid start: must be "now" or "beginning"`)
	case n.Mode != "" && n.Mode != ModeEvents && n.Mode != ModeSnapshot:
		return invalid(`Invalid mode: must be "events" or "snapshot"`)
	case n.Mode == ModeSnapshot && !isCRM(n.Type):
		return invalid("Invalid mode: snapshot is for CRM sinks (hubspot, salesforce, pipedrive)")
	case n.Key != "" && n.Key != KeyEmail && n.Key != KeyLeadID:
		return invalid(`Invalid key: must be "email" or "lead_id"`)
	case !isCRM(n.Type) && (n.Key != "" || n.Mapping != nil || n.RateLimit != nil):
		return invalid("Invalid field: key, mapping and rate_limit are for CRM sinks")
	}
	if n.Type == TypeWebhook {
		if err := n.validateWebhook(); err != nil {
			return err
		}
	} else if n.URL != "" || n.Secret != "" {
		return invalid("Invalid field: a %s sink takes its url and credentials in config", n.Type)
	} else if err := validateConfig(n.Type, n.Config); err != nil {
		return err
	}
	if n.RateLimit != nil {
		if err := n.RateLimit.validate(); err != nil {
			return err
		}
	}
	if err := n.Mapping.validate(); err != nil {
		return err
	}
	return n.Filter.validate()
}

func (n NewSink) validateWebhook() error {
	switch {
	case n.Config != nil:
		return invalid("Invalid field: config is not for webhook sinks")
	case n.URL == "":
		return invalid("Missing required field: url")
	case n.Secret == "":
		return invalid("Missing required field: secret")
	}
	if err := checkWebhookURL(n.URL); err != nil {
		return err
	}
	if _, err := standardwebhooks.DecodeSecret(n.Secret); err != nil {
		return invalid("Invalid secret: must be whsec_ followed by base64")
	}
	return nil
}

func checkWebhookURL(raw string) error {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("Invalid url: must be an absolute http or https URL")
	}
	return nil
}

// sink is the new sink with its defaults filled in.
func (n NewSink) sink() Sink {
	s := Sink{Name: n.Name, Type: n.Type, URL: n.URL, Secret: n.Secret, Filter: n.Filter, Mode: n.Mode,
		RecordKey: n.Key, Config: n.Config, Mapping: n.Mapping, Status: StatusActive}
	if !isCRM(n.Type) {
		s.Mode = orDefault(s.Mode, ModeEvents)
		if n.Type == TypeNATS {
			s.URL = configOrigin(n.Type, n.Config)
		}
		return s
	}
	s.Mode, s.RecordKey = orDefault(s.Mode, ModeSnapshot), orDefault(s.RecordKey, KeyEmail)
	s.URL = configOrigin(n.Type, n.Config)
	if s.Mapping == nil {
		s.Mapping = defaultMappings[n.Type]
	}
	s.RateLimit = defaultRateLimits[n.Type]
	if n.RateLimit != nil {
		s.RateLimit = *n.RateLimit
	}
	return s
}

func (f Filter) validate() error {
	for _, t := range f.Types {
		if !t.Valid() {
			return invalid("Invalid filter.types: unknown event type %q", t)
		}
	}
	return nil
}

// ReplayStatus is a replay's state. Stored: never rename.
type ReplayStatus string

// Replay statuses.
const (
	ReplayRunning   ReplayStatus = "running"
	ReplayCompleted ReplayStatus = "completed"
	ReplayCancelled ReplayStatus = "cancelled"
)

// Replay re-delivers a range of the log to a sink, beside its live delivery.
type Replay struct {
	ID           uuid.UUID
	SinkID       uuid.UUID
	Status       ReplayStatus
	FromPosition int64 // exclusive: the first event delivered is the one after it
	ToPosition   int64 // inclusive
	Filter       Filter
	Position     int64 // delivered (or given up) up to here
	Total        int64
	Delivered    int64
	Failed       int64
	CreatedAt    time.Time
	FinishedAt   *time.Time

	// CRM sinks in snapshot mode count events above, and records here.
	OnlyChanged      bool  // records whose mapped fields are as last written are not sent
	RecordsWritten   int64 // records the CRM accepted
	RecordsUnchanged int64 // records not sent, being as last written
}

// NewReplay is what an engineer asks for when replaying the log into a sink: from a position
// or from a time, up to an optional position (the log's head when the replay starts).
type NewReplay struct {
	FromPosition *int64     `json:"from_position"`
	FromTime     *time.Time `json:"from_time"`
	ToPosition   *int64     `json:"to_position"`
	Filter       Filter     `json:"filter"`
	// OnlyChanged skips the records whose mapped fields are as last written (CRM snapshot sinks).
	OnlyChanged bool `json:"only_changed"`
}

// Validate reports the first problem of the request, naming the field.
func (n NewReplay) Validate() error {
	switch {
	case n.FromPosition == nil && n.FromTime == nil:
		return invalid("Missing required field: from_position or from_time")
	case n.FromPosition != nil && n.FromTime != nil:
		return invalid("Give from_position or from_time, not both")
	case n.FromPosition != nil && *n.FromPosition < 0:
		return invalid("Invalid from_position: must be >= 0")
	case n.ToPosition != nil && *n.ToPosition < 1:
		return invalid("Invalid to_position: must be >= 1")
	case n.ToPosition != nil && n.FromPosition != nil && *n.ToPosition <= *n.FromPosition:
		return invalid("Invalid to_position: must be after from_position")
	}
	return n.Filter.validate()
}

// Attempt is one try at delivering one event to one sink, kept for auditors.
type Attempt struct {
	ID          int64
	SinkID      uuid.UUID
	ReplayID    *uuid.UUID
	EventID     uuid.UUID
	Position    int64
	LeadID      uuid.UUID
	Number      int // 1 for the first try of this event by this cursor
	StatusCode  int // 0 when no answer came
	LatencyMS   float64
	Error       string // "" when acknowledged
	AttemptedAt time.Time
	// NextAttemptAt is when a failed delivery is tried again; nil when no retry is pending
	// (acknowledged, given up, retried since, or its cursor stopped).
	NextAttemptAt *time.Time
	// Manual marks an attempt an operator asked for (a redelivery), outside every cursor.
	Manual bool
}

// Progress is a replay's pace so far, in events per second, and while it runs the seconds it
// needs yet at that pace (nil before the pace is known).
func (r Replay) Progress(now time.Time) (rate float64, eta *float64) {
	end := now
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	done := float64(r.Delivered + r.Failed)
	if elapsed := end.Sub(r.CreatedAt).Seconds(); elapsed > 0 {
		rate = done / elapsed
	}
	if r.Status == ReplayRunning && rate > 0 {
		left := float64(max(r.Total-r.Delivered-r.Failed, 0)) / rate
		eta = &left
	}
	return rate, eta
}

// PublicConfig is the sink's config as the API shows it: credentials replaced by REDACTED.
func (s Sink) PublicConfig() map[string]any { return publicConfig(s.Config) }
