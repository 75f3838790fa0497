package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// followStream reads GET /v1/events/stream after a position and hands each event's JSON to
// print, until ctx is done, print fails or the stream ends. A stream has no end, so it is read
// without the client's timeout.
func (c *apiClient) followStream(ctx context.Context, after int64, types, sources string, print func(json.RawMessage) error) error {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if types != "" {
		q.Set("type", types)
	}
	if sources != "" {
		q.Set("source", sources)
	}
	path := "/v1/events/stream?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 16<<20) // an event carries its raw body: up to the ingest limit, escaped
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue // id and event repeat what the data says; comments keep the stream open
		}
		if err := print(json.RawMessage(data)); err != nil {
			return err
		}
	}
	if err := lines.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}
