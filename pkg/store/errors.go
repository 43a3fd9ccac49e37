package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	sqlitedrv "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// SQLite result codes (https://sqlite.org/rescode.html); extended codes keep the primary code
// in their low byte.
const (
	sqliteBusy       = 5
	sqliteLocked     = 6
	sqliteConstraint = 19
)

func sqliteCode(err error) int {
	var e *sqlitedrv.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff
	}
	return 0
}

// isBusy reports whether a write transaction failed only for now and should run again: SQLite
// busy or locked; on PostgreSQL a serialization failure, a deadlock, or a connection that was
// lost, refused or shut down (a transaction whose commit was cut off may run twice: every
// write is idempotent under its own re-check, as the dedup claim is under its unique key).
func isBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqliteBusy || c == sqliteLocked || errors.Is(err, errClaimRaced) || pgRetryable(err)
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// pgRetryable: SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected, class 08
// connection exceptions, 57P01-03 (server shutting down or starting), or no answer at all.
func pgRetryable(err error) bool {
	switch c := pgCode(err); {
	case c == "40001", c == "40P01", c == "57P01", c == "57P02", c == "57P03", strings.HasPrefix(c, "08"):
		return true
	case c != "":
		return false
	}
	return pgConnLost(err)
}

// pgConnLost reports a connection that failed below SQL: dial, reset, EOF, a broken pool slot.
func pgConnLost(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

// translate is the one place that turns database errors into registry errors.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return registry.WrapError(registry.ENOTFOUND, "not found", err)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return registry.WrapError(registry.ECONFLICT, "already exists", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return registry.WrapError(registry.EUNAVAILABLE, "request cancelled or timed out", err)
	case isBusy(err):
		return registry.WrapError(registry.EUNAVAILABLE, "database busy, try again", err)
	case sqliteCode(err) == sqliteConstraint:
		return registry.WrapError(registry.ECONFLICT, "constraint violated", err)
	case pgCode(err) == "57014": // query_canceled: statement_timeout
		return registry.WrapError(registry.EUNAVAILABLE, "database statement timed out", err)
	case strings.HasPrefix(pgCode(err), "23") && !errors.Is(err, gorm.ErrForeignKeyViolated):
		// integrity_constraint_violation (unique, check, not null); a foreign key violation
		// stays as on SQLite, where gorm reports it bare.
		return registry.WrapError(registry.ECONFLICT, "constraint violated", err)
	case storageFailed(err): // disk full or an I/O error: nothing was written
		return registry.WrapError(registry.EUNAVAILABLE, errStorage.Error(), err)
	case strings.HasPrefix(pgCode(err), "53"): // insufficient_resources: too many connections
		return registry.WrapError(registry.EUNAVAILABLE, "database unavailable, try again", err)
	}
	return err
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
