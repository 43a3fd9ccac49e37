package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// WebhookAttemptsKept is how many attempts the log keeps per endpoint (the newest).
const WebhookAttemptsKept = 1000

// webhookAttemptsPruneEvery: the log of an endpoint is trimmed when an attempt's id is a
// multiple of this, so it holds at most WebhookAttemptsKept plus this many rows.
const webhookAttemptsPruneEvery = 100

// WebhookOutcome is what an attempt means for the endpoint's state.
type WebhookOutcome struct {
	// NextAttemptAt is when the failed event is tried again (ignored on success).
	NextAttemptAt time.Time
	// Failing marks the endpoint failing: the retry budget of the event ran out.
	Failing bool
}

// RecordWebhookAttempt logs attempt a of owner (who must hold the endpoint's live lease) and,
// in the same transaction, moves the endpoint on: after a success its cursor becomes the
// event's id and its retry state is cleared; after a failure it keeps the cursor and records
// the attempt count, the error and when to try again, or turns failing (and drops the lease).
// It returns errLeaseLost (IsLeaseLost) when the lease is not owner's any more; nothing is
// written then.
func (s *Store) RecordWebhookAttempt(ctx context.Context, owner string, a registry.WebhookAttempt, o WebhookOutcome) error {
	now := s.now()
	row := webhookAttemptRow{WebhookID: a.WebhookID, EventID: a.EventID, Event: a.Event, MessageID: a.MessageID, Attempt: a.Attempt,
		At: ms(a.At), Status: a.Status, DurationMs: a.Duration.Milliseconds(), Error: a.Error, Response: a.Response}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var res *gorm.DB
		fence := " WHERE id = ? AND lease_owner = ? AND lease_until >= ? AND cursor < ?"
		args := []any{a.WebhookID, owner, ms(now), a.EventID}
		switch {
		case a.OK():
			res = tx.Exec("UPDATE webhooks SET cursor = ?, attempts = 0, next_attempt_at = 0, last_error = '', delivered = delivered + 1"+fence,
				append([]any{a.EventID}, args...)...)
		case o.Failing:
			res = tx.Exec(`UPDATE webhooks SET state = ?, attempts = ?, next_attempt_at = 0, last_error = ?, failing_since = ?,
				lease_owner = '', lease_until = 0`+fence,
				append([]any{registry.WebhookFailing, a.Attempt, a.Error, ms(now)}, args...)...)
		default:
			res = tx.Exec("UPDATE webhooks SET attempts = ?, next_attempt_at = ?, last_error = ?"+fence,
				append([]any{a.Attempt, ms(o.NextAttemptAt), a.Error}, args...)...)
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errLeaseLost
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if row.ID%webhookAttemptsPruneEvery != 0 {
			return nil
		}
		return tx.Exec(`DELETE FROM webhook_attempts WHERE webhook_id = ? AND id <= (
			SELECT id FROM webhook_attempts WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			a.WebhookID, a.WebhookID, WebhookAttemptsKept).Error
	})
	if err != nil && !IsLeaseLost(err) {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return err
}

// WebhookAttempts returns one page of an endpoint's attempt log, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, id int64, p registry.Page) (registry.List[registry.WebhookAttempt], error) {
	if _, err := getWebhook(s.read(ctx), id); err != nil {
		return registry.List[registry.WebhookAttempt]{}, err
	}
	var w where
	w.add("webhook_id = ?", id)
	p.Desc = true
	scan := func(sc scanner) (registry.WebhookAttempt, error) {
		var r webhookAttemptRow
		err := sc.Scan(&r.ID, &r.WebhookID, &r.EventID, &r.Event, &r.MessageID, &r.Attempt, &r.At, &r.Status, &r.DurationMs, &r.Error, &r.Response)
		return registry.WebhookAttempt{ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, Event: r.Event, MessageID: r.MessageID,
			Attempt: r.Attempt, At: fromMs(r.At), Status: r.Status, Duration: time.Duration(r.DurationMs) * time.Millisecond,
			Error: r.Error, Response: r.Response}, err
	}
	return listPage(ctx, s, listing[registry.WebhookAttempt]{what: fmt.Sprintf("attempts of webhook %d", id),
		query: "SELECT id, webhook_id, event_id, event, message_id, attempt, at, status, duration_ms, error, response FROM webhook_attempts",
		keys:  []string{"id"}, scan: keyed(scan, func(a *registry.WebhookAttempt) int64 { return a.ID })}, w, p)
}
