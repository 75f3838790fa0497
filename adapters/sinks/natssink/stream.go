package natssink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// provision makes sure a JetStream stream stores subject and returns its name. A stream that
// already covers the subject (one an operator made for "leadledger.>", say) is used as it is;
// otherwise a file-backed stream named after the subject is created.
//
// This is done here rather than by watermill's JetStreamConfig.AutoProvision, which names the
// stream after the subject itself: JetStream refuses a dot in a stream name, so every dotted
// subject would fail, and a stream already covering the subject would make it fail with
// overlapping subjects. It would also ask the server for the stream before every publish.
func provision(ctx context.Context, js nats.JetStreamManager, subject string) (string, error) {
	name, err := js.StreamNameBySubject(subject, nats.Context(ctx))
	if err == nil {
		return name, nil
	}
	if !errors.Is(err, nats.ErrNoMatchingStream) {
		return "", fmt.Errorf("look up the stream for subject %q: %w", subject, err)
	}
	name = streamName(subject)
	// Creating a stream that exists with the same config succeeds, so two instances
	// provisioning at once both get it.
	_, err = js.AddStream(&nats.StreamConfig{
		Name:     name,
		Subjects: []string{subject},
		Storage:  nats.FileStorage,
	}, nats.Context(ctx))
	if err != nil {
		return "", fmt.Errorf("create stream %q for subject %q: %w", name, subject, err)
	}
	return name, nil
}

// streamName derives a stream name from a subject: JetStream takes only letters, digits, "-"
// and "_" safely in one (no ".", no wildcards, no path separators), so the rest become "_".
func streamName(subject string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, subject)
}
