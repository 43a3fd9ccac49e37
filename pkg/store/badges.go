package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// BadgeState returns what a canister's badges are computed from (its stored module hash,
// controllers and certified last install, whether the hash is a known build, its change
// history, and the stored ledger badges) and the badges stored for it, nil when none are.
func (s *Store) BadgeState(ctx context.Context, id registry.CanisterID) (registry.BadgeInput, *registry.Badges, error) {
	var in registry.BadgeInput
	var ctrls string
	var known bool
	var hashAt, ctrlAt, installed sql.NullInt64
	err := s.readOne(ctx, `SELECT c.module_hash, c.controllers, c.last_installed_at,
		EXISTS (SELECT 1 FROM module_hashes h WHERE h.hash = c.module_hash),
		(SELECT max(x.observed_at) FROM module_hash_changes x WHERE x.canister_id = c.canister_id AND x.field = 'module_hash'),
		(SELECT max(x.observed_at) FROM module_hash_changes x WHERE x.canister_id = c.canister_id AND x.field = 'controllers' AND x.old_value <> '')
		FROM canisters c WHERE c.canister_id = ?`, string(id)).
		Scan(&in.ModuleHash, &ctrls, &installed, &known, &hashAt, &ctrlAt)
	if errors.Is(err, sql.ErrNoRows) {
		return in, nil, registry.Errorf(registry.ENOTFOUND, "canister %s is not registered", id)
	}
	if err != nil {
		return in, nil, fmt.Errorf("badge state of %s: %w", id, translate(err))
	}
	in.Controllers, in.KnownBuild = textList(ctrls), known
	if hashAt.Valid {
		in.HashSince = fromMs(hashAt.Int64)
	}
	if ctrlAt.Valid {
		in.ControllersChangedAt = fromMs(ctrlAt.Int64)
	}
	if installed.Valid {
		in.InstalledAt = fromMs(installed.Int64)
	}
	stored, err := s.badgesOf(ctx, []registry.CanisterID{id})
	if err != nil {
		return in, nil, err
	}
	if b, ok := stored[id]; ok {
		in.Ledger = b.LedgerBadges
		return in, &b, nil
	}
	return in, nil, nil
}

// SaveBadges stores a canister's badges, computed for its current module hash.
func (s *Store) SaveBadges(ctx context.Context, id registry.CanisterID, moduleHash string, b registry.Badges) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO canister_badges (canister_id, module_hash, verified, blackholed, immutable, immutable_since,
			controller_changed, controllers_changed_at, computed_at, immutable_basis, icrc2, icrc3, indexed, privileged)
			SELECT canister_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM canisters WHERE canister_id = ?
			ON CONFLICT (canister_id) DO UPDATE SET module_hash = excluded.module_hash, verified = excluded.verified,
			blackholed = excluded.blackholed, immutable = excluded.immutable, immutable_since = excluded.immutable_since,
			controller_changed = excluded.controller_changed, controllers_changed_at = excluded.controllers_changed_at,
			computed_at = excluded.computed_at, immutable_basis = excluded.immutable_basis, icrc2 = excluded.icrc2,
			icrc3 = excluded.icrc3, indexed = excluded.indexed, privileged = excluded.privileged`,
			moduleHash, b.Verified, b.Blackholed, b.Immutable, msPtr(b.ImmutableSince), b.ControllerChanged,
			msPtr(b.ControllersChangedAt), ms(b.ComputedAt), b.ImmutableBasis, b.ICRC2, b.ICRC3, b.Indexed, b.Privileged,
			string(id)).Error
	})
	if err != nil {
		return fmt.Errorf("save badges of %s: %w", id, err)
	}
	return nil
}

// Badges returns the stored badges of the given canisters; a canister without any is absent.
func (s *Store) Badges(ctx context.Context, ids []registry.CanisterID) (map[registry.CanisterID]registry.Badges, error) {
	return s.badgesOf(ctx, ids)
}

// badgeColumns are the canister_badges row aliased b, in badgeDest.targets' order. Every one
// is NULL when a LEFT JOIN found no badges.
const badgeColumns = `b.canister_id, b.verified, b.blackholed, b.immutable, b.immutable_since, b.controller_changed,
	b.controllers_changed_at, b.computed_at, b.immutable_basis, b.icrc2, b.icrc3, b.indexed, b.privileged`

type badgeDest struct {
	id, basis                                                  sql.NullString
	verified, blackholed, immutable, changed, i2, i3, idx, prv sql.NullBool
	since, changedAt, at                                       sql.NullInt64
}

func (d *badgeDest) targets() []any {
	return []any{&d.id, &d.verified, &d.blackholed, &d.immutable, &d.since, &d.changed, &d.changedAt, &d.at,
		&d.basis, &d.i2, &d.i3, &d.idx, &d.prv}
}

// stored returns the badges read, nil when there were none (a LEFT JOIN's NULLs).
func (d *badgeDest) stored() *registry.Badges {
	if !d.id.Valid {
		return nil
	}
	b := d.badges()
	return &b
}

func (d *badgeDest) badges() registry.Badges {
	return registry.Badges{Verified: d.verified.Bool, Blackholed: d.blackholed.Bool, Immutable: d.immutable.Bool,
		ImmutableSince: fromMsPtr(nullTime(d.since)), ImmutableBasis: d.basis.String, ControllerChanged: d.changed.Bool,
		ControllersChangedAt: fromMsPtr(nullTime(d.changedAt)), ComputedAt: fromMs(d.at.Int64),
		LedgerBadges: registry.LedgerBadges{ICRC2: d.i2.Bool, ICRC3: d.i3.Bool, Indexed: d.idx.Bool, Privileged: d.prv.Bool}}
}

func (s *Store) badgesOf(ctx context.Context, ids []registry.CanisterID) (map[registry.CanisterID]registry.Badges, error) {
	out := make(map[registry.CanisterID]registry.Badges, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = string(id)
	}
	type stored struct {
		id registry.CanisterID
		b  registry.Badges
	}
	rows, err := queryList(s.read(ctx), "SELECT "+badgeColumns+" FROM canister_badges b WHERE b.canister_id IN ?", []any{keys},
		func(sc scanner) (stored, error) {
			var d badgeDest
			err := sc.Scan(d.targets()...)
			return stored{registry.CanisterID(d.id.String), d.badges()}, err
		})
	if err != nil {
		return nil, fmt.Errorf("read badges: %w", err)
	}
	for _, r := range rows {
		out[r.id] = r.b
	}
	return out, nil
}

// setVerifiedBadgesTx sets the stored verified badge of every canister whose badges were
// computed for hash.
func setVerifiedBadgesTx(tx *gorm.DB, hash string, verified bool) error {
	return tx.Exec("UPDATE canister_badges SET verified = ? WHERE module_hash = ? AND module_hash <> ''", verified, hash).Error
}

// badge adds "the canister holds the stored badge name" on the canisters table aliased c.
// name must be one of registry.BadgeNames.
func (w *where) badge(name string) {
	col := map[string]string{registry.BadgeVerified: "verified", registry.BadgeBlackholed: "blackholed",
		registry.BadgeImmutable: "immutable", registry.BadgeControllerChanged: "controller_changed",
		registry.BadgeICRC2: "icrc2", registry.BadgeICRC3: "icrc3", registry.BadgeIndexed: "indexed",
		registry.BadgePrivileged: "privileged"}[name]
	if col == "" {
		return
	}
	w.add("c.canister_id IN (SELECT b.canister_id FROM canister_badges b WHERE b." + col + ")")
}
