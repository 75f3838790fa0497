// Package projections holds the read models folded from the log. Each consumes the log through
// its own named consumer group (eventstore.Store.Subscribe), keeps its tables beside the log,
// and can be dropped and rebuilt from position 0.
package projections
