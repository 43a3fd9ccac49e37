package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	sqlitedrv "github.com/glebarez/go-sqlite"
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

func isBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqliteBusy || c == sqliteLocked
}

// translate is the one place that turns database errors into registry errors.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return registry.WrapError(registry.ENOTFOUND, "not found", err)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return registry.WrapError(registry.ECONFLICT, "already exists", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return registry.WrapError(registry.EUNAVAILABLE, "request cancelled or timed out", err)
	case isBusy(err):
		return registry.WrapError(registry.EUNAVAILABLE, "database busy, try again", err)
	case sqliteCode(err) == sqliteConstraint:
		return registry.WrapError(registry.ECONFLICT, "constraint violated", err)
	}
	return err
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
