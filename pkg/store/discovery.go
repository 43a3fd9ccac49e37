package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// discoveredRow is a row of discovered_canisters: what discovery registered or found, and the
// name and kind it last set.
type discoveredRow struct {
	CanisterID   string `gorm:"primaryKey"`
	Source       string
	Origin       string
	Role         string
	Name         string
	Kind         string
	Registered   int
	DiscoveredAt int64
}

func (discoveredRow) TableName() string { return "discovered_canisters" }

// discoveryRunRow is a row of discovery_runs.
type discoveryRunRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	Source     string
	Cause      string
	StartedAt  int64 `gorm:"autoCreateTime:false"`
	FinishedAt int64
	DAOs       int `gorm:"column:daos"`
	Found      int
	Added      int
	Updated    int
	Unchanged  int
	Kept       int
	Skipped    int
	Failed     int
	Errors     string
	AddedIDs   string `gorm:"column:added_ids"`
}

func (discoveryRunRow) TableName() string { return "discovery_runs" }

const discoveryRunColumns = `id, source, cause, started_at, finished_at, daos, found, added, updated, unchanged, kept,
	skipped, failed, errors, added_ids`

func scanDiscoveryRun(sc scanner) (registry.DiscoveryRun, error) {
	var r discoveryRunRow
	err := sc.Scan(&r.ID, &r.Source, &r.Cause, &r.StartedAt, &r.FinishedAt, &r.DAOs, &r.Found, &r.Added, &r.Updated,
		&r.Unchanged, &r.Kept, &r.Skipped, &r.Failed, &r.Errors, &r.AddedIDs)
	run := registry.DiscoveryRun{ID: r.ID, Source: r.Source, Trigger: r.Cause, StartedAt: fromMs(r.StartedAt),
		FinishedAt: fromMs(r.FinishedAt), DAOs: r.DAOs, Found: r.Found, Added: r.Added, Updated: r.Updated,
		Unchanged: r.Unchanged, Kept: r.Kept, Skipped: r.Skipped, Failed: r.Failed, Errors: parseList(r.Errors)}
	for _, id := range parseList(r.AddedIDs) {
		run.AddedIDs = append(run.AddedIDs, registry.CanisterID(id))
	}
	return run.Lists(), err
}

// DiscoveryEvent builds the event of a finished run (its id and counts set).
type DiscoveryEvent func(run registry.DiscoveryRun) (registry.Event, error)

// ApplyDiscovery registers what a discovery run found, in one write transaction with the run's
// row and its event (nil event: none):
//   - a canister never found before and not registered is registered as found (name, kind,
//     tag) and counted added;
//   - one registered by hand keeps its name and kind (counted kept when they differ from what
//     discovery would set); only the tag is added;
//   - one discovery registered has its name or kind updated only while it still holds what
//     discovery last set there (nothing changed it by hand since);
//   - one that discovery found before but is no longer registered was deleted by hand and is
//     skipped, never registered again.
//
// So a second run over the same answers changes nothing. run's counts of found canisters are
// filled in here; DAOs, Failed and Errors are the caller's.
func (s *Store) ApplyDiscovery(ctx context.Context, run registry.DiscoveryRun, found []registry.Discovered, event DiscoveryEvent) (registry.DiscoveryRun, []registry.Event, error) {
	var logged []registry.Event
	out := run
	err := s.write(ctx, func(tx *gorm.DB) error {
		out, logged = run, nil
		out.Found = len(found)
		for i := range found {
			if err := s.applyOne(ctx, tx, &found[i], &out); err != nil {
				return fmt.Errorf("%s: %w", found[i].ID, err)
			}
		}
		out.FinishedAt = s.now()
		out = out.Lists()
		row := toDiscoveryRunRow(&out)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		out.ID = row.ID
		if event == nil {
			return nil
		}
		e, err := event(out)
		if err != nil {
			return err
		}
		logged, err = s.appendEvents(tx, []registry.Event{e})
		return err
	})
	if err != nil {
		return run, nil, fmt.Errorf("apply discovery: %w", translate(err))
	}
	return out, logged, nil
}

func toDiscoveryRunRow(r *registry.DiscoveryRun) discoveryRunRow {
	ids := make([]string, len(r.AddedIDs))
	for i, id := range r.AddedIDs {
		ids[i] = string(id)
	}
	errs := r.Errors
	if errs == nil {
		errs = []string{}
	}
	b, _ := json.Marshal(errs)
	return discoveryRunRow{Source: r.Source, Cause: r.Trigger, StartedAt: ms(r.StartedAt), FinishedAt: ms(r.FinishedAt),
		DAOs: r.DAOs, Found: r.Found, Added: r.Added, Updated: r.Updated, Unchanged: r.Unchanged, Kept: r.Kept,
		Skipped: r.Skipped, Failed: r.Failed, Errors: string(b), AddedIDs: jsonList(ids)}
}

// applyOne applies one found canister inside tx and counts it in run.
func (s *Store) applyOne(ctx context.Context, tx *gorm.DB, d *registry.Discovered, run *registry.DiscoveryRun) error {
	var prev discoveredRow
	err := one(tx.Raw("SELECT canister_id, source, origin, role, name, kind, registered, discovered_at FROM discovered_canisters WHERE canister_id = ?",
		string(d.ID))).Scan(&prev.CanisterID, &prev.Source, &prev.Origin, &prev.Role, &prev.Name, &prev.Kind, &prev.Registered, &prev.DiscoveredAt)
	seen := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	cur, err := getCanister(one(tx.Raw(canisterByID, string(d.ID))), d.ID)
	registered := err == nil
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		return err
	}
	now := s.now()
	switch {
	case seen && !registered:
		run.Skipped++
		return nil
	case !registered:
		c := registry.Canister{ID: d.ID, Kind: d.Kind, Name: d.Name, Tags: []string{d.Tag}, CreatedAt: now, UpdatedAt: now}
		if err := c.Validate(); err != nil {
			return err
		}
		row := toCanisterRow(&c)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		run.Added++
		run.AddedIDs = append(run.AddedIDs, d.ID)
		return putDiscovered(tx, d, d.Name, d.Kind, true, now)
	}
	return reconcile(tx, d, cur.Canister, prev, seen, run, now)
}

// reconcile applies d to a registered canister cur: prev is what discovery set earlier (seen).
func reconcile(tx *gorm.DB, d *registry.Discovered, cur registry.Canister, prev discoveredRow, seen bool, run *registry.DiscoveryRun, now time.Time) error {
	managed := seen && prev.Registered == 1
	next := cur
	name, kind := prev.Name, registry.Kind(prev.Kind)
	if managed && next.Name == prev.Name {
		next.Name, name = d.Name, d.Name
	}
	if managed && next.Kind == registry.Kind(prev.Kind) {
		next.Kind, kind = d.Kind, d.Kind
	}
	if !managed {
		name, kind = d.Name, d.Kind
	}
	if next.Name != d.Name || next.Kind != d.Kind {
		run.Kept++
	}
	if !slices.Contains(next.Tags, d.Tag) && registry.ValidateTags(append(slices.Clone(next.Tags), d.Tag)) == nil {
		next.Tags = append(slices.Clone(next.Tags), d.Tag)
	}
	changed := next.Name != cur.Name || next.Kind != cur.Kind || len(next.Tags) != len(cur.Tags)
	if changed {
		if err := setCanisterFields(tx, cur, next, now); err != nil {
			return err
		}
		run.Updated++
	} else {
		run.Unchanged++
	}
	if seen && prev.Name == name && prev.Kind == string(kind) && prev.Origin == d.Source && prev.Role == d.Role {
		return nil
	}
	return putDiscovered(tx, d, name, kind, managed, now)
}

// setCanisterFields writes next's kind, name and tags over cur's, as UpdateCanister does (a
// change of kind drops the old kind's observations and makes the canister due at once).
func setCanisterFields(tx *gorm.DB, cur, next registry.Canister, now time.Time) error {
	set := "kind = ?, name = ?, tags = ?, updated_at = ?"
	if next.Kind != cur.Kind {
		set += ", next_attempt_at = 0"
		if err := dropObservations(tx, cur.ID, next.Kind); err != nil {
			return err
		}
	}
	return tx.Exec("UPDATE canisters SET "+set+" WHERE canister_id = ?", string(next.Kind), next.Name,
		jsonList(next.Tags), ms(now), string(cur.ID)).Error
}

func putDiscovered(tx *gorm.DB, d *registry.Discovered, name string, kind registry.Kind, registered bool, now time.Time) error {
	reg := 0
	if registered {
		reg = 1
	}
	return tx.Exec(`INSERT INTO discovered_canisters (canister_id, source, origin, role, name, kind, registered, discovered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (canister_id) DO UPDATE SET origin = excluded.origin, role = excluded.role, name = excluded.name, kind = excluded.kind`,
		string(d.ID), registry.DiscoverySNS, d.Source, d.Role, name, string(kind), reg, ms(now)).Error
}

// ListDiscoveryRuns returns one page of discovery runs of f.Source, newest first.
func (s *Store) ListDiscoveryRuns(ctx context.Context, f registry.DiscoveryFilter) (registry.List[registry.DiscoveryRun], error) {
	w := s.where()
	w.add("source = ?", f.Source)
	f.Page.Desc = true
	return listPage(ctx, s, listing[registry.DiscoveryRun]{what: "discovery runs", count: "discovery_runs",
		query: "SELECT " + discoveryRunColumns + " FROM discovery_runs", keys: []string{"id"},
		scan: keyed(scanDiscoveryRun, func(r *registry.DiscoveryRun) int64 { return r.ID })}, w, f.Page)
}
