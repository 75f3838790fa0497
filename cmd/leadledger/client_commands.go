package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// runClientCommand runs `leadledger events|leads|sinks|replays <action>`.
func runClientCommand(ctx context.Context, group string, args []string, getenv func(string) string, stdout io.Writer) error {
	actions := map[string]map[string]func(context.Context, []string, func(string) string, io.Writer) error{
		"events":  {"tail": eventsTail},
		"leads":   {"get": leadsGet, "search": leadsSearch},
		"sinks":   {"list": sinksList, "create": sinksCreate, "pause": sinkAction("pause"), "resume": sinkAction("resume"), "replay": sinksReplay},
		"replays": {"watch": replaysWatch},
	}[group]
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	if len(args) == 0 || actions[args[0]] == nil {
		return fmt.Errorf("leadledger %s: want one of %s: run leadledger help", group, strings.Join(sortedKeys(actions), ", "))
	}
	return actions[args[0]](ctx, args[1:], getenv, stdout)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// flagGiven reports whether a flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

type eventLine struct {
	Position   int64     `json:"position"`
	Type       string    `json:"type"`
	Source     string    `json:"source"`
	LeadID     string    `json:"lead_id"`
	ReceivedAt time.Time `json:"received_at"`
	RawSHA256  string    `json:"raw_sha256"`
	Erased     bool      `json:"erased"`
}

// eventsTail prints the log from a position on, a line an event (or the events' JSON, one a
// line); with --follow it keeps printing what is appended, read from the server's event stream.
func eventsTail(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("events tail", getenv)
	after := fs.Int64("after", 0, "start after this position (default: about the last --last events)")
	last := fs.Int("last", 20, "without --after, start this many positions before the head")
	follow := fs.Bool("follow", false, "keep printing events as they are appended")
	poll := fs.Duration("poll", time.Second, "with --follow, how long to wait before reconnecting to a stream that ended")
	types := fs.String("type", "", "only these event types, comma-separated")
	sources := fs.String("source", "", "only these sources, comma-separated")
	asJSON := fs.Bool("json", false, "print each event's JSON, one a line (with the raw body)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newAPIClient(*base, getenv)
	if err != nil {
		return err
	}
	if !flagGiven(fs, "after") {
		var status struct {
			Head int64 `json:"head"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/status", nil, &status); err != nil {
			return err
		}
		*after = max(0, status.Head-int64(*last))
	}
	printEvent := func(raw json.RawMessage) error {
		var e eventLine
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		line := fmt.Sprintf("%d\t%s\t%-17s\t%-12s\t%s\tsha256:%.12s", e.Position, e.ReceivedAt.Format(time.RFC3339), e.Type, e.Source, e.LeadID, e.RawSHA256)
		if e.Erased {
			line += "\terased"
		}
		if *asJSON {
			line = string(raw)
		}
		if _, err := fmt.Fprintln(stdout, line); err != nil {
			return err
		}
		*after = e.Position
		return nil
	}
	for {
		sent := *after
		q := url.Values{"after": {strconv.FormatInt(*after, 10)}, "limit": {"1000"}}
		if *types != "" {
			q.Set("type", *types)
		}
		if *sources != "" {
			q.Set("source", *sources)
		}
		var page struct {
			Events    []json.RawMessage `json:"events"`
			NextAfter int64             `json:"next_after"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, raw := range page.Events {
			if err := printEvent(raw); err != nil {
				return err
			}
		}
		// next_after is where the next page starts: past the last event, or past positions a
		// filter skipped. A page that moves it nowhere is the end of the log, for now.
		if page.NextAfter > *after {
			*after = page.NextAfter
		}
		if *after > sent {
			continue
		}
		if !*follow {
			return nil
		}
		// Caught up: the stream sends each event as it is appended. When it ends (the server
		// stopped, or has no stream), the pages above pick up from where it was, --poll later.
		var printErr error
		_ = c.followStream(ctx, *after, *types, *sources, func(raw json.RawMessage) error {
			printErr = printEvent(raw)
			return printErr
		})
		if printErr != nil {
			return printErr
		}
		select {
		case <-ctx.Done():
			return nil // interrupted: a normal way to stop following
		case <-time.After(*poll):
		}
	}
}

// leadsGet prints one lead of the lead view, or with --history its events.
func leadsGet(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("leads get", getenv)
	history := fs.Bool("history", false, "print the lead's events, each with whether it changed the lead")
	id, c, err := argAndClient(fs, args, "lead_id", *base, getenv)
	if err != nil {
		return err
	}
	path := "/v1/leads/" + url.PathEscape(id)
	if *history {
		path += "/events"
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return err
	}
	return printJSON(stdout, raw)
}

// leadsSearch prints the leads matching an email, a source or a text, a line each.
func leadsSearch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("leads search", getenv)
	email := fs.String("email", "", "an email, matched however the vendor wrote it")
	source := fs.String("source", "", "a source id")
	text := fs.String("q", "", "text in a name, phone or company")
	limit := fs.Int("limit", 50, "at most this many leads")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" && *source == "" && *text == "" {
		return errors.New("leadledger leads search: give --email, --source or --q")
	}
	c, err := newAPIClient(*base, getenv)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	for k, v := range map[string]string{"email": *email, "source": *source, "q": *text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		Leads []struct {
			ID, Source, Name, Email, Company string
			EventCount                       int       `json:"event_count"`
			UpdatedAt                        time.Time `json:"updated_at"`
		} `json:"leads"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/leads?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LEAD\tSOURCE\tNAME\tEMAIL\tCOMPANY\tEVENTS\tUPDATED")
	for _, l := range page.Leads {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", l.ID, l.Source, l.Name, l.Email, l.Company, l.EventCount, l.UpdatedAt.Format(time.RFC3339))
	}
	return w.Flush()
}

// sinksList prints every sink with its state and how far behind the log it is.
func sinksList(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("sinks list", getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newAPIClient(*base, getenv)
	if err != nil {
		return err
	}
	var list struct {
		Sinks []struct {
			ID, Name, Type, Status, URL string
			Position, Lag               int64
			Delivered, Failed           int64
			LastError                   string `json:"last_error"`
		} `json:"sinks"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/sinks", nil, &list); err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SINK\tNAME\tTYPE\tSTATUS\tPOSITION\tLAG\tDELIVERED\tFAILED\tLAST ERROR")
	for _, s := range list.Sinks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.ID, s.Name, s.Type, s.Status, s.Position, s.Lag, s.Delivered, s.Failed, s.LastError)
	}
	return w.Flush()
}

// sinksCreate adds a sink: a webhook or NATS sink from flags, any sink from a JSON body.
func sinksCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("sinks create", getenv)
	name := fs.String("name", "", "the sink's name")
	kind := fs.String("type", "webhook", "webhook, nats, hubspot, salesforce or pipedrive")
	target := fs.String("target", "", "the webhook's URL, or the NATS server's")
	secretEnv := fs.String("secret-env", "", "the environment variable holding the webhook's signing secret (whsec_...)")
	start := fs.String("start", "now", "now: only events appended from now on; beginning: the whole log first")
	body := fs.String("json", "", "a file with the whole request body (the API's NewSink), - for stdin; the other flags are then ignored")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newAPIClient(*base, getenv)
	if err != nil {
		return err
	}
	var request any
	if *body != "" {
		raw, err := readFileOrStdin(*body)
		if err != nil {
			return err
		}
		if !json.Valid(raw) {
			return fmt.Errorf("--json %s: not a JSON document", *body)
		}
		request = json.RawMessage(raw)
	} else {
		if *name == "" || *target == "" {
			return errors.New("leadledger sinks create: give --name and --target (or --json FILE)")
		}
		sink := map[string]any{"name": *name, "type": *kind, "url": *target, "start": *start}
		if *secretEnv != "" {
			if sink["secret"] = getenv(*secretEnv); sink["secret"] == "" {
				return fmt.Errorf("--secret-env: %s is unset or empty", *secretEnv)
			}
		}
		request = sink
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodPost, "/v1/sinks", request, &raw); err != nil {
		return err
	}
	return printJSON(stdout, raw)
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// sinkAction is `sinks pause ID` or `sinks resume ID`.
func sinkAction(action string) func(context.Context, []string, func(string) string, io.Writer) error {
	return func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
		fs, base := clientFlagSet("sinks "+action, getenv)
		id, c, err := argAndClient(fs, args, "sink_id", *base, getenv)
		if err != nil {
			return err
		}
		var sink struct{ ID, Name, Status string }
		if err := c.call(ctx, http.MethodPost, "/v1/sinks/"+url.PathEscape(id)+"/"+action, nil, &sink); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "sink %s (%s): %s\n", sink.ID, sink.Name, sink.Status)
		return err
	}
}

// sinksReplay starts a replay of the log, or a range of it, into a sink; with --watch it
// follows it to the end.
func sinksReplay(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("sinks replay", getenv)
	from := fs.Int64("from-position", 0, "replay the events after this position")
	fromTime := fs.String("from-time", "", "replay the events received from this time on (RFC 3339)")
	to := fs.Int64("to-position", 0, "up to this position (default: the head when the replay starts)")
	watch := fs.Bool("watch", false, "follow the replay to its end")
	id, c, err := argAndClient(fs, args, "sink_id", *base, getenv)
	if err != nil {
		return err
	}
	request := map[string]any{"from_position": *from}
	if *fromTime != "" {
		request = map[string]any{"from_time": *fromTime}
	}
	if *to > 0 {
		request["to_position"] = *to
	}
	var r replayProgress
	if err := c.call(ctx, http.MethodPost, "/v1/sinks/"+url.PathEscape(id)+"/replays", request, &r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replay %s started: positions %d to %d, %d events\n", r.ID, r.FromPosition, r.ToPosition, r.Total)
	if !*watch {
		return nil
	}
	return watchReplay(ctx, c, r.ID, time.Second, stdout)
}

// replaysWatch follows a replay to its end: a progress bar on a terminal, then one line.
func replaysWatch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, base := clientFlagSet("replays watch", getenv)
	poll := fs.Duration("poll", time.Second, "how often to ask for the replay's progress")
	id, c, err := argAndClient(fs, args, "replay_id", *base, getenv)
	if err != nil {
		return err
	}
	return watchReplay(ctx, c, id, *poll, stdout)
}

type replayProgress struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	FromPosition int64   `json:"from_position"`
	ToPosition   int64   `json:"to_position"`
	Total        int64   `json:"total"`
	Delivered    int64   `json:"delivered"`
	Failed       int64   `json:"failed"`
	Rate         float64 `json:"rate"`
	ETASeconds   float64 `json:"eta_seconds"`
}

func watchReplay(ctx context.Context, c *apiClient, id string, poll time.Duration, stdout io.Writer) error {
	for {
		var r replayProgress
		if err := c.call(ctx, http.MethodGet, "/v1/replays/"+url.PathEscape(id), nil, &r); err != nil {
			return err
		}
		if r.Status != "running" {
			endProgress()
			_, err := fmt.Fprintf(stdout, "replay %s %s: %d of %d events delivered, %d failed\n", r.ID, r.Status, r.Delivered, r.Total, r.Failed)
			return err
		}
		if isTerminal(os.Stderr) {
			fmt.Fprintf(os.Stderr, "\r%s %d/%d events, %.0f/s, %s left", progressBar(r.Delivered+r.Failed, r.Total, 30),
				r.Delivered+r.Failed, r.Total, r.Rate, (time.Duration(r.ETASeconds) * time.Second).String())
		}
		select {
		case <-ctx.Done():
			endProgress()
			return nil
		case <-time.After(poll):
		}
	}
}

// progressBar draws done of total in width cells, with the percentage.
func progressBar(done, total int64, width int) string {
	share := 1.0
	if total > 0 {
		share = min(1, float64(done)/float64(total))
	}
	full := int(share * float64(width))
	return "[" + strings.Repeat("#", full) + strings.Repeat(" ", width-full) + "] " + strconv.Itoa(int(share*100)) + "%"
}
