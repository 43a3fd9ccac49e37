package store

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// SQLite result codes of a write the storage could not take.
const (
	sqliteIOErr = 10 // SQLITE_IOERR and its extended codes (e.g. IOERR_WRITE on EFBIG)
	sqliteFull  = 13 // SQLITE_FULL: the disk (or the file size limit) is full
)

// storageFailed reports a write that failed because the storage could not take it: SQLite's
// SQLITE_FULL or SQLITE_IOERR, PostgreSQL's disk_full (53100). translate answers it 503
// unavailable, and the store reports not-ready until a write succeeds again.
func storageFailed(err error) bool {
	c := sqliteCode(err)
	return c == sqliteFull || c == sqliteIOErr || pgCode(err) == "53100"
}

// storageHealth remembers the last write that failed for lack of storage, until a write
// succeeds again (the heartbeat writes every HEARTBEAT_INTERVAL, so readiness comes back
// within one interval of space coming back).
type storageHealth struct {
	failed atomic.Pointer[error]
}

// note records the outcome of a write transaction (before translate).
func (h *storageHealth) note(err error) {
	switch {
	case err == nil:
		h.failed.Store(nil)
	case storageFailed(err):
		e := fmt.Errorf("the last write failed, storage full or failing: %w", err)
		h.failed.Store(&e)
	}
}

// err returns the remembered failure, or nil.
func (h *storageHealth) err() error {
	if p := h.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// StorageFailing reports whether the last write failed for lack of storage (disk full, an I/O
// error) and no write has succeeded since: the canistry_storage_failing series.
func (s *Store) StorageFailing() bool { return s.storage.err() != nil }

// errStorage is what translate wraps a storage failure in.
var errStorage = errors.New("database storage is full or failing (disk full or I/O error); nothing was written, try again later")
