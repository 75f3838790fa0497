// Package projections holds the read models folded from the log. Each consumes the log through
// its own named consumer group (eventstore.Store.Subscribe), keeps its tables beside the log,
// and can be dropped and rebuilt from position 0.
package projections

import (
	"strconv"
	"strings"
)

// rebind turns ? placeholders into PostgreSQL's $1, $2, ... so one query text serves both
// databases.
func rebind(dialect, query string) string {
	if dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
