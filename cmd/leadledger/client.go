package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The commands an operator would otherwise run with curl (events, leads, sinks, replays) talk
// to a running ledger's API. Its address comes from --url or LEDGER_URL; the token only from
// LEDGER_TOKEN, never a flag, which would show in ps and in the shell's history.

const defaultURL = "http://127.0.0.1:8080"

// apiClient calls one ledger's API with one token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// clientFlagSet is a command's flag set with --url.
func clientFlagSet(name string, getenv func(string) string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("leadledger "+name, flag.ContinueOnError)
	base := getenv("LEDGER_URL")
	if base == "" {
		base = defaultURL
	}
	return fs, fs.String("url", base, "the ledger's base URL (or LEDGER_URL); the token is read from LEDGER_TOKEN")
}

func newAPIClient(base string, getenv func(string) string) (*apiClient, error) {
	token := getenv("LEDGER_TOKEN")
	if token == "" {
		return nil, errors.New("LEDGER_TOKEN is not set: export an auditor's or operator's API token in it")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http(s)://host:port", base)
	}
	return &apiClient{base: strings.TrimSuffix(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends a request with body (JSON, if not nil) and decodes the JSON reply into out (if
// not nil). A reply that is not 2xx is an error carrying the API's message.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, payload)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the reply: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Message string }
		if json.Unmarshal(data, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Message)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the reply is not what this version expects: %w", method, path, err)
	}
	return nil
}

// printJSON writes a reply indented, as the API sent it.
func printJSON(w io.Writer, raw json.RawMessage) error {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// argAndClient is oneArg, then the client: what every command on one sink, lead or replay needs.
func argAndClient(fs *flag.FlagSet, args []string, what, base string, getenv func(string) string) (string, *apiClient, error) {
	arg, err := oneArg(fs, args, what)
	if err != nil {
		return "", nil, err
	}
	c, err := newAPIClient(base, getenv)
	return arg, c, err
}

// oneArg parses a command's flags, before or after its one argument, named what.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", fmt.Errorf("usage: %s [flags] %s", fs.Name(), strings.ToUpper(what))
	}
	arg := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() != 0 {
		return "", fmt.Errorf("usage: %s [flags] %s", fs.Name(), strings.ToUpper(what))
	}
	return arg, nil
}
