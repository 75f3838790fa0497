package eventstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrUnavailable is returned when the database cannot be reached or did not answer in time.
// Nothing was acknowledged; the caller may retry. (A commit that timed out may still have
// landed: a retry then stores the webhook twice, and both are kept.)
var ErrUnavailable = errors.New("database unavailable")

// IsUnavailable reports whether err says the database is down, unreachable, busy or too slow,
// not that the request was wrong: for any error of the store or of a query beside it.
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || (err != nil && isOutage(err))
}

// unavailable marks err with ErrUnavailable when it says the database is down, unreachable,
// shutting down, busy past its timeout or too slow, rather than that the request was wrong.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !isOutage(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func isOutage(err error) bool {
	var netErr net.Error
	var pqErr *pq.Error
	var sqliteErr *sqlite.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &pqErr):
		// Class 08: connection exception; 57P0x: the server is shutting down or starting;
		// 53xxx: out of resources; 57014: our own deadline cancelled the statement.
		code := string(pqErr.Code)
		return pqErr.Code.Class() == "08" || pqErr.Code.Class() == "53" ||
			code == "57P01" || code == "57P02" || code == "57P03" || code == "57014"
	case errors.As(err, &sqliteErr):
		code := sqliteErr.Code() & 0xff // the primary result code
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED || code == sqlite3.SQLITE_INTERRUPT ||
			code == sqlite3.SQLITE_IOERR || code == sqlite3.SQLITE_FULL
	}
	return false
}
