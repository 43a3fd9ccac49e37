package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// canisterColumns are read by every canister query, in scanCanister's order. The build columns
// come from module_hashes aliased m, joined on the current module hash.
const canisterColumns = `c.pk, c.canister_id, c.kind, c.name, c.description, c.tags, c.module_hash,
	c.controllers, c.created_at, c.updated_at, c.last_attempt_at, c.last_success_at, c.last_error,
	c.consecutive_failures, c.next_attempt_at, m.name, m.version, m.kind, m.source_url,
	c.canister_created_at, c.last_installed_at, c.status_retry_at`

const canisterFrom = ` FROM canisters c LEFT JOIN module_hashes m ON m.hash = c.module_hash`

// scanner is *sql.Rows or *sql.Row.
type scanner interface{ Scan(dest ...any) error }

func scanCanister(sc scanner) (registry.CanisterRecord, error) {
	var (
		r                            canisterRow
		attempt, success             sql.NullInt64
		bName, bVersion, bKind, bSrc sql.NullString
		created, installed, retry    sql.NullInt64
	)
	err := sc.Scan(&r.PK, &r.CanisterID, &r.Kind, &r.Name, &r.Description, &r.Tags, &r.ModuleHash,
		&r.Controllers, &r.CreatedAt, &r.UpdatedAt, &attempt, &success, &r.LastError,
		&r.ConsecutiveFailures, &r.NextAttemptAt, &bName, &bVersion, &bKind, &bSrc, &created, &installed, &retry)
	if err != nil {
		return registry.CanisterRecord{}, err
	}
	// Built here rather than with toCanister: lists decode up to 500 rows per request, and
	// textList skips encoding/json for the plain lists stored in tags and controllers.
	rec := registry.CanisterRecord{Key: r.PK, Canister: registry.Canister{
		ID: registry.CanisterID(r.CanisterID), Kind: registry.Kind(r.Kind), Name: r.Name, Description: r.Description,
		Tags: textList(r.Tags), ModuleHash: r.ModuleHash, Controllers: textList(r.Controllers),
		CreatedAt: fromMs(r.CreatedAt), UpdatedAt: fromMs(r.UpdatedAt),
		Refresh: registry.RefreshState{LastAttemptAt: fromMsPtr(nullTime(attempt)), LastSuccessAt: fromMsPtr(nullTime(success)),
			LastError: r.LastError, ConsecutiveFailures: r.ConsecutiveFailures, NextAttemptAt: fromMs(r.NextAttemptAt)},
		CanisterCreatedAt: fromMsPtr(nullTime(created)), LastInstalledAt: fromMsPtr(nullTime(installed)),
		StatusRetryAt: fromMsPtr(nullTime(retry)),
	}}
	if bName.Valid {
		rec.Build = &registry.Build{Name: bName.String, Version: bVersion.String,
			Kind: registry.Kind(bKind.String), SourceURL: bSrc.String}
	}
	return rec, nil
}

// canisterByID reads one canister by its id.
const canisterByID = "SELECT " + canisterColumns + canisterFrom + " WHERE c.canister_id = ?"

// getCanister scans the canister that row (canisterByID for id) read: ENOTFOUND when none.
func getCanister(row scanner, id registry.CanisterID) (registry.CanisterRecord, error) {
	rec, err := scanCanister(row)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, registry.Errorf(registry.ENOTFOUND, "canister %s is not registered", id)
	}
	return rec, translate(err)
}

// GetCanister returns a registered canister with the build its module hash matches.
func (s *Store) GetCanister(ctx context.Context, id registry.CanisterID) (registry.CanisterRecord, error) {
	rec, err := getCanister(s.readOne(ctx, canisterByID, string(id)), id)
	if err != nil {
		return rec, fmt.Errorf("get canister %s: %w", id, err)
	}
	return rec, nil
}

// GetCanisterBadges is GetCanister with the canister's stored badges (nil when it has none),
// read by the same statement: GET /canisters/{id} takes one read of the database, not two.
func (s *Store) GetCanisterBadges(ctx context.Context, id registry.CanisterID) (registry.CanisterRecord, *registry.Badges, error) {
	var d badgeDest
	rec, err := getCanister(scanWith{s.readOne(ctx, getCanisterBadgesSQL, string(id)), d.targets()}, id)
	if err != nil {
		return rec, nil, fmt.Errorf("get canister %s: %w", id, err)
	}
	return rec, d.stored(), nil
}

// scanWith is sc whose Scan also fills more, after the columns Scan is given: a row scanned
// by one table's scan function, with the columns of a join added at its end.
type scanWith struct {
	sc   scanner
	more []any
}

func (w scanWith) Scan(dest ...any) error {
	return w.sc.Scan(append(dest[:len(dest):len(dest)], w.more...)...)
}

// Announcement asks a registry write to append its event to the event log in the write's own
// transaction, so the change and its event commit together. Data builds the event's data from
// the record as written (or, for a delete, as it was); Event is filled in with the event as
// logged once the write has committed.
type Announcement struct {
	Name  string
	At    time.Time
	Data  func(registry.CanisterRecord) any
	Event registry.Event
}

// announce appends the events of anns for rec inside tx.
func (s *Store) announce(tx *gorm.DB, rec registry.CanisterRecord, anns []*Announcement) error {
	for _, a := range anns {
		e, err := registry.NewEvent(a.Name, a.Data(rec), a.At)
		if err != nil {
			return fmt.Errorf("encode %s event: %w", a.Name, err)
		}
		if a.Event, err = s.appendEvent(tx, e); err != nil {
			return err
		}
	}
	return nil
}

// CreateCanister registers c (validated) and returns it as stored. Registering an id twice is
// ECONFLICT. The new canister is due for its first refresh at once. Each announcement's event
// is logged with it.
func (s *Store) CreateCanister(ctx context.Context, c registry.Canister, anns ...*Announcement) (registry.CanisterRecord, error) {
	if err := c.Validate(); err != nil {
		return registry.CanisterRecord{}, err
	}
	now := s.now()
	c.CreatedAt, c.UpdatedAt = now, now
	c.ModuleHash, c.Controllers, c.Refresh = "", nil, registry.RefreshState{}
	row := toCanisterRow(&c)
	var rec registry.CanisterRecord
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		var err error
		if rec, err = getCanister(one(tx.Raw(canisterByID, string(c.ID))), c.ID); err != nil {
			return err
		}
		return s.announce(tx, rec, anns)
	})
	if registry.ErrorCode(err) == registry.ECONFLICT {
		return rec, registry.WrapError(registry.ECONFLICT, fmt.Sprintf("canister %s is already registered", c.ID), err)
	}
	if err != nil {
		return rec, fmt.Errorf("create canister %s: %w", c.ID, err)
	}
	return rec, nil
}

// UpdateCanister applies u to the canister and returns it as stored. A change of kind drops what
// the poller read for the old kind and makes the canister due for a refresh at once. Each
// announcement's event is logged with it.
func (s *Store) UpdateCanister(ctx context.Context, id registry.CanisterID, u registry.CanisterUpdate, anns ...*Announcement) (registry.CanisterRecord, error) {
	var rec registry.CanisterRecord
	err := s.write(ctx, func(tx *gorm.DB) error {
		cur, err := getCanister(one(tx.Raw(canisterByID, string(id))), id)
		if err != nil {
			return err
		}
		next, err := u.Apply(cur.Canister)
		if err != nil {
			return err
		}
		set := "kind = ?, name = ?, description = ?, tags = ?, updated_at = ?"
		if next.Kind != cur.Kind {
			set += ", next_attempt_at = 0"
			if err := dropObservations(tx, id, next.Kind); err != nil {
				return err
			}
		}
		err = tx.Exec("UPDATE canisters SET "+set+" WHERE canister_id = ?", string(next.Kind), next.Name, next.Description,
			jsonList(next.Tags), ms(s.now()), string(id)).Error
		if err != nil {
			return err
		}
		if rec, err = getCanister(one(tx.Raw(canisterByID, string(id))), id); err != nil {
			return err
		}
		return s.announce(tx, rec, anns)
	})
	if err != nil {
		return rec, fmt.Errorf("update canister %s: %w", id, err)
	}
	return rec, nil
}

// dropObservations deletes what the poller stored for kinds other than kind.
func dropObservations(tx *gorm.DB, id registry.CanisterID, kind registry.Kind) error {
	drops := map[registry.Kind][]string{
		registry.KindToken:  {"DELETE FROM tokens WHERE canister_id = ?"},
		registry.KindMiner:  {"DELETE FROM miners WHERE canister_id = ?"},
		registry.KindWallet: {"DELETE FROM wallet_balances WHERE wallet_id = ?", "DELETE FROM wallet_balance_history WHERE canister_id = ?"},
	}
	for k, qs := range drops {
		if k == kind {
			continue
		}
		for _, q := range qs {
			if err := tx.Exec(q, string(id)).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteCanister removes the canister and everything read from it (the change history stays)
// and returns it as it was. Each announcement's event is logged with it.
func (s *Store) DeleteCanister(ctx context.Context, id registry.CanisterID, anns ...*Announcement) (registry.CanisterRecord, error) {
	var rec registry.CanisterRecord
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if rec, err = getCanister(one(tx.Raw(canisterByID, string(id))), id); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM canisters WHERE canister_id = ?", string(id)).Error; err != nil {
			return err
		}
		return s.announce(tx, rec, anns)
	})
	if err != nil {
		return rec, fmt.Errorf("delete canister %s: %w", id, err)
	}
	return rec, nil
}

// ListCanisters returns one page of the canisters matching f, in registration order.
func (s *Store) ListCanisters(ctx context.Context, f registry.CanisterFilter) (registry.List[registry.CanisterRecord], error) {
	w := s.where()
	if f.Kind != "" {
		w.add("c.kind = ?", string(f.Kind))
	}
	if f.Tag != "" {
		w.add("instr(c.tags, ?) > 0", strconv.Quote(f.Tag)) // tags are [a-z0-9._:-]: quoting is exact
	}
	if f.Verified != nil {
		if *f.Verified {
			w.add("c.module_hash IN (SELECT hash FROM module_hashes)")
		} else {
			w.add("c.module_hash NOT IN (SELECT hash FROM module_hashes)")
		}
	}
	w.stale(f.Stale)
	w.contains(f.Query, "c.canister_id", "c.name")
	w.badge(f.Badge)

	return listPage(ctx, s, listing[registry.CanisterRecord]{what: "canisters", count: "canisters c",
		query: "SELECT " + canisterColumns + canisterFrom, keys: []string{"c.pk"}, scan: keyed(scanCanister, func(r *registry.CanisterRecord) int64 { return r.Key })}, w, f.Page)
}
