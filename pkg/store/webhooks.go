package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// Webhooks (migration 0004): endpoints, their delivery cursor and retry state, the lease of the
// one worker that delivers to each, and the attempt log. Every statement is plain SQL that
// PostgreSQL runs as well.

// MaxWebhooks bounds the number of endpoints.
const MaxWebhooks = 100

// errLeaseLost is returned by the worker's writes when the endpoint's lease is no longer the
// caller's (it expired and another worker took it, or the endpoint was deleted or disabled).
var errLeaseLost = registry.Errorf(registry.ECONFLICT, "the webhook's lease is not held")

// IsLeaseLost reports whether err says the caller no longer holds a webhook's lease.
func IsLeaseLost(err error) bool { return errors.Is(err, errLeaseLost) }

type webhookRow struct {
	ID            int64 `gorm:"primaryKey;autoIncrement"`
	URL           string
	Events        string
	TokenID       string
	MinerID       string
	Description   string
	Secret        string
	CreatedAt     int64
	State         string
	Cursor        int64
	Attempts      int
	NextAttemptAt int64
	LastError     string
	FailingSince  *int64
	Delivered     int64
	LeaseOwner    string
	LeaseUntil    int64
}

func (webhookRow) TableName() string { return "webhooks" }

// webhookColumns are the columns of webhookRow, in scanWebhook's order.
const webhookColumns = `id, url, events, token_id, miner_id, description, secret, created_at, state, cursor,
	attempts, next_attempt_at, last_error, failing_since, delivered, lease_owner, lease_until`

func scanWebhook(sc scanner) (registry.Webhook, error) {
	var r webhookRow
	err := sc.Scan(&r.ID, &r.URL, &r.Events, &r.TokenID, &r.MinerID, &r.Description, &r.Secret, &r.CreatedAt, &r.State,
		&r.Cursor, &r.Attempts, &r.NextAttemptAt, &r.LastError, &r.FailingSince, &r.Delivered, &r.LeaseOwner, &r.LeaseUntil)
	return r.toWebhook(), err
}

func (r *webhookRow) toWebhook() registry.Webhook {
	w := registry.Webhook{ID: r.ID, URL: r.URL, Description: r.Description, Secret: r.Secret,
		CreatedAt: fromMs(r.CreatedAt), State: r.State, Cursor: r.Cursor, Attempts: r.Attempts,
		LastError: r.LastError, FailingSince: fromMsPtr(r.FailingSince), Delivered: r.Delivered,
		Filter: registry.EventFilter{Token: r.TokenID, Miner: r.MinerID}}
	if r.Events != "" {
		w.Filter.Events = map[string]bool{}
		for _, e := range strings.Split(r.Events, ",") {
			w.Filter.Events[e] = true
		}
	}
	if r.NextAttemptAt != 0 {
		t := fromMs(r.NextAttemptAt)
		w.NextAttemptAt = &t
	}
	return w
}

type webhookAttemptRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	WebhookID  int64
	EventID    int64
	Event      string
	MessageID  string
	Attempt    int
	At         int64
	Status     int
	DurationMs int64
	Error      string
	Response   string
}

func (webhookAttemptRow) TableName() string { return "webhook_attempts" }

// CreateWebhook stores a new endpoint (URL, filter and secret already validated by the caller)
// and returns it. It starts at the log's head: it gets the events logged after its creation.
func (s *Store) CreateWebhook(ctx context.Context, w registry.Webhook) (registry.Webhook, error) {
	events := slices.Sorted(func(yield func(string) bool) {
		for e := range w.Filter.Events {
			if !yield(e) {
				return
			}
		}
	})
	row := webhookRow{URL: w.URL, Events: strings.Join(events, ","), TokenID: w.Filter.Token, MinerID: w.Filter.Miner,
		Description: w.Description, Secret: w.Secret, CreatedAt: ms(s.now()), State: registry.WebhookActive}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := one(tx.Raw("SELECT count(*) FROM webhooks")).Scan(&n); err != nil {
			return err
		}
		if n >= MaxWebhooks {
			return registry.Errorf(registry.ECONFLICT, "there are already %d webhooks, the most this server keeps", n)
		}
		if err := one(tx.Raw("SELECT coalesce(max(id), 0) FROM events")).Scan(&row.Cursor); err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return registry.Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	return row.toWebhook(), nil
}

// Webhooks returns every endpoint, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]registry.Webhook, error) {
	out, err := queryList(s.read(ctx), "SELECT "+webhookColumns+" FROM webhooks ORDER BY id", nil, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// GetWebhook returns one endpoint.
func (s *Store) GetWebhook(ctx context.Context, id int64) (registry.Webhook, error) {
	w, err := getWebhook(s.read(ctx), id)
	if err != nil {
		return w, fmt.Errorf("get webhook: %w", err)
	}
	return w, nil
}

func getWebhook(db *gorm.DB, id int64) (registry.Webhook, error) {
	w, err := scanWebhook(one(db.Raw("SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id)))
	if errors.Is(err, sql.ErrNoRows) {
		return w, registry.Errorf(registry.ENOTFOUND, "webhook %d does not exist", id)
	}
	return w, translate(err)
}

// DeleteWebhook deletes an endpoint and its attempt log.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM webhook_attempts WHERE webhook_id = ?", id).Error; err != nil {
			return err
		}
		res := tx.Exec("DELETE FROM webhooks WHERE id = ?", id)
		if res.Error == nil && res.RowsAffected == 0 {
			return registry.Errorf(registry.ENOTFOUND, "webhook %d does not exist", id)
		}
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

// EnableWebhook makes an endpoint active again with a fresh retry budget: the event it failed
// on is tried again first. Enabling an active endpoint only resets its retry state.
func (s *Store) EnableWebhook(ctx context.Context, id int64) (registry.Webhook, error) {
	var w registry.Webhook
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE webhooks SET state = ?, attempts = 0, next_attempt_at = 0, last_error = '', failing_since = NULL
			WHERE id = ?`, registry.WebhookActive, id)
		if res.Error != nil {
			return res.Error
		}
		var err error
		w, err = getWebhook(tx, id)
		return err
	})
	if err != nil {
		return registry.Webhook{}, fmt.Errorf("enable webhook: %w", err)
	}
	return w, nil
}

// LeaseWebhook takes or renews the lease on an active endpoint for owner until ttl from now,
// if it is free, expired or already owner's, and returns the endpoint. ok is false when
// another worker holds it, or the endpoint is failing or gone.
func (s *Store) LeaseWebhook(ctx context.Context, id int64, owner string, ttl time.Duration) (w registry.Webhook, ok bool, err error) {
	now := s.now()
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE webhooks SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND state = ? AND (lease_owner = ? OR lease_until < ?)`,
			owner, ms(now.Add(ttl)), id, registry.WebhookActive, owner, ms(now))
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		ok = true
		w, err = getWebhook(tx, id)
		return err
	})
	if err != nil {
		return registry.Webhook{}, false, fmt.Errorf("lease webhook %d: %w", id, err)
	}
	return w, ok, nil
}

// ReleaseWebhook gives up owner's lease on an endpoint (at shutdown), so another worker can
// take it at once.
func (s *Store) ReleaseWebhook(ctx context.Context, id int64, owner string) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("UPDATE webhooks SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?", id, owner).Error
	})
	if err != nil {
		return fmt.Errorf("release webhook %d: %w", id, err)
	}
	return nil
}

// LeasableWebhooks returns the ids of the active endpoints whose lease is free, expired or
// owner's: those a worker should be delivering to.
func (s *Store) LeasableWebhooks(ctx context.Context, owner string) ([]int64, error) {
	ids, err := queryList(s.read(ctx), "SELECT id FROM webhooks WHERE state = ? AND (lease_owner = ? OR lease_until < ?) ORDER BY id",
		[]any{registry.WebhookActive, owner, ms(s.now())}, scanValue[int64])
	if err != nil {
		return nil, fmt.Errorf("list leasable webhooks: %w", translate(err))
	}
	return ids, nil
}

// SkipWebhookEvents moves an endpoint's cursor forward to cursor past events its filter does
// not pass, if owner holds its lease and no attempt is pending.
func (s *Store) SkipWebhookEvents(ctx context.Context, id int64, owner string, cursor int64) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE webhooks SET cursor = ? WHERE id = ? AND lease_owner = ? AND lease_until >= ? AND cursor < ?`,
			cursor, id, owner, ms(s.now()), cursor)
		if res.Error == nil && res.RowsAffected == 0 {
			return s.checkLease(tx, id, owner)
		}
		return res.Error
	})
	if err != nil && !IsLeaseLost(err) {
		return fmt.Errorf("advance webhook %d: %w", id, err)
	}
	return err
}

// checkLease returns errLeaseLost unless owner holds the live lease on endpoint id.
func (s *Store) checkLease(tx *gorm.DB, id int64, owner string) error {
	var n int64
	if err := one(tx.Raw("SELECT count(*) FROM webhooks WHERE id = ? AND lease_owner = ? AND lease_until >= ?", id, owner, ms(s.now()))).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errLeaseLost
	}
	return nil
}
