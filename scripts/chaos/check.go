package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// api calls the ledger's API with the operator token and decodes a JSON reply into out.
func api(method, url string, body string, out any) error {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := quick.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// stored pages through GET /v1/events and returns each event's position by id, checking every
// raw body against its SHA-256.
func (e *env) stored(url string) map[string]int64 {
	ids := map[string]int64{}
	for after := int64(0); ; {
		var page struct {
			Events []struct {
				ID        string `json:"id"`
				Position  int64  `json:"position"`
				Raw       string `json:"raw"`
				RawSHA256 string `json:"raw_sha256"`
			} `json:"events"`
			NextAfter int64 `json:"next_after"`
		}
		if err := api("GET", fmt.Sprintf("%s/v1/events?after=%d&limit=1000", url, after), "", &page); err != nil {
			abortf("read the log: %v", err)
		}
		if len(page.Events) == 0 {
			return ids
		}
		for _, ev := range page.Events {
			sum := sha256.Sum256([]byte(ev.Raw))
			if hex.EncodeToString(sum[:]) != ev.RawSHA256 {
				e.fail("event %s: its raw body does not match its raw_sha256", ev.ID)
			}
			ids[ev.ID] = ev.Position
		}
		after = page.NextAfter
	}
}

// checkFound counts the acknowledged events in the log of the ledger at url, and returns the log.
func (e *env) checkFound(url string, acked []string) map[string]int64 {
	log := e.stored(url)
	e.res.acked, e.res.found, e.res.counted = len(acked), 0, true
	var missing []string
	for _, id := range acked {
		if _, ok := log[id]; ok {
			e.res.found++
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		e.fail("%d acknowledged events are not in the log, for example %s", len(missing), missing[0])
	}
	return log
}

// leadViewLag is the lead view's lag in GET /v1/status, -1 if it cannot be read.
func leadViewLag(url string) int64 {
	var status struct {
		Projections []struct {
			Name string `json:"name"`
			Lag  int64  `json:"lag"`
		} `json:"projections"`
	}
	if api("GET", url+"/v1/status", "", &status) != nil {
		return -1
	}
	for _, p := range status.Projections {
		if p.Name == "lead_view" {
			return p.Lag
		}
	}
	return -1
}

// checkCaughtUp waits (up to d) for the lead view's lag to reach 0 and notes how long it took.
func (e *env) checkCaughtUp(url string, d time.Duration) {
	start := time.Now()
	if !e.poll(d, func() bool { return leadViewLag(url) == 0 }) {
		e.fail("the lead view's lag is %d after %s, not 0", leadViewLag(url), d)
		return
	}
	e.note("view-lag-0 in %.1f s", time.Since(start).Seconds())
}

// createSink makes a webhook sink delivering the whole log to the receiver; it returns its id.
func createSink(url, receiver string) string {
	var sink struct {
		ID string `json:"id"`
	}
	body := fmt.Sprintf(`{"name":"chaos","type":"webhook","url":"%s/hook","secret":"%s","start":"beginning"}`, receiver, hookSecret)
	if err := api("POST", url+"/v1/sinks", body, &sink); err != nil {
		abortf("create a sink: %v", err)
	}
	return sink.ID
}

type sinkInfo struct {
	Status    string `json:"status"`
	Position  int64  `json:"position"`
	Lag       int64  `json:"lag"`
	LastError string `json:"last_error"`
}

func (s sinkInfo) String() string {
	return fmt.Sprintf("sink %s at position %d, lag %d, last error %q", s.Status, s.Position, s.Lag, s.LastError)
}

func sinkState(url, id string) sinkInfo {
	var sink sinkInfo
	if err := api("GET", url+"/v1/sinks/"+id, "", &sink); err != nil {
		sink.Status = err.Error()
	}
	return sink
}

// setAnswer makes the receiver answer every delivery with status.
func setAnswer(receiver string, status int) {
	resp, err := quick.Post(fmt.Sprintf("%s/_answer?status=%d", receiver, status), "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		abortf("receiver: set its answer to %d: %v", status, err)
	}
	resp.Body.Close()
}
