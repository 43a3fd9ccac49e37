package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// NotificationClaim is the outcome of claiming a dedup key.
type NotificationClaim struct {
	// Notification is the stored notification of the key: the first copy's, with its stored
	// response, which every copy replays byte for byte.
	Notification registry.Notification
	// ExpiresAt is when the key's dedup window ends; after it the key is new again.
	ExpiresAt time.Time
	// Claimed is true when this call inserted the notification: its caller has the effect
	// (fan-out, refresh triggers). It is false for a copy of an already claimed key.
	Claimed bool
	// Refused is true when the key holds a live refusal (RefuseNotification): nothing is stored,
	// Notification carries only DedupKey, ResponseStatus and ResponseBody, and ExpiresAt is when
	// the refusal ends. Every copy of a refused key replays that reply until then.
	Refused bool
	// Event is the notification's event as appended to the event log in the claim's own
	// transaction (with its log id and cursor); set only when Claimed.
	Event registry.Event
}

// NotificationCopies adds Copies copies to the notification ID (and marks it diverged when
// Diverged is set): copies that were answered from memory and counted later in a batch.
// Records are those of them to record (the first registry.MaxRecordedCopies are kept).
type NotificationCopies struct {
	ID       int64
	Copies   int
	Diverged bool
	Records  []CopyRecord
}

// ClaimNotification decides, in one IMMEDIATE transaction, whether n is the first copy of its
// dedup key within the window. n.ReceivedAt is the current time, and n.ResponseStatus and
// n.ResponseBody must already hold the response, so that a claim can never exist without the
// response its duplicates replay.
//
//   - An expired claim of the key (expires_at ≤ now) is deleted first.
//   - If a live claim exists, n is a duplicate: the stored notification's copies is incremented
//     and diverged is set when n.BodyHash differs from the stored one; Claimed is false.
//   - If a live refusal of the key exists (RefuseNotification), nothing is written and the
//     refusal is returned with Refused set: a key refused for one copy is refused for all.
//   - Otherwise n is inserted with copies = 1, and so is the claim, whose PRIMARY KEY on the
//     dedup key makes a second claim impossible even if two writers raced: Claimed is true,
//     and the notification's event is appended to the event log in the same transaction.
//
// Because every write transaction holds the database's write lock, this decision is the same
// for copies handled by different processes sharing the file.
func (s *Store) ClaimNotification(ctx context.Context, n *registry.Notification, window time.Duration) (NotificationClaim, error) {
	out, err := s.ClaimNotifications(ctx, []*registry.Notification{n}, window)
	if err != nil {
		return NotificationClaim{}, err
	}
	return out[0], nil
}

// ClaimNotifications claims a batch, in order, in one transaction: the group commit behind a
// busy intake. Each notification is decided exactly as by ClaimNotification; a later one with
// the same key as an earlier one is its duplicate. On PostgreSQL a batch of new keys takes one
// round trip (claimpipe.go).
func (s *Store) ClaimNotifications(ctx context.Context, batch []*registry.Notification, window time.Duration) ([]NotificationClaim, error) {
	if s.d.pipelinedClaims {
		out, ok, err := s.claimPipelined(ctx, batch, window)
		if err != nil {
			return nil, fmt.Errorf("claim notification: %w", err)
		}
		if ok {
			return out, nil
		}
	}
	var out []NotificationClaim
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.claimBatchTx(ctx, tx, batch, window)
		return err
	})
	s.w.stmts.prepareMissed(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim notification: %w", err)
	}
	return out, nil
}

// errClaimRaced: another writer's claim or refusal of the key won its unique key after this
// transaction looked; write runs the transaction again (isBusy), which then sees it.
var errClaimRaced = errors.New("dedup key claimed concurrently")

// Refusal is the reply every copy of a refused dedup key gets while the refusal lasts.
type Refusal struct {
	Status int
	Body   []byte
}

// RefuseNotification decides, in one write transaction, the fate of a copy the intake may not
// turn into a new notification (its rate limit is spent):
//
//   - a live claim of key wins: the copy is counted on it (as by ClaimNotification) and the
//     stored notification is returned, so a stored notification's copies are never limited;
//   - else a live refusal of key is returned unchanged (Refused set);
//   - else ref is stored as the key's refusal until now+hold and returned (Refused set).
//
// Claims and refusals of one key are decided under the same write lock, each checking the
// other first, so a key is never both: every copy of it, in any process, gets one answer.
//
// source is the copy's client address, recorded with it when it is counted on a claim.
func (s *Store) RefuseNotification(ctx context.Context, key, bodyHash, source string, ref Refusal, now time.Time, hold time.Duration) (NotificationClaim, error) {
	var out NotificationClaim
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = NotificationClaim{}
		at := ms(now)
		if found, _, err := countCopyTx(tx, key, bodyHash, source, at, &out); err != nil || found {
			return err
		}
		if found, err := refusalTx(tx, key, at, &out); err != nil || found {
			return err
		}
		if err := tx.Exec("DELETE FROM notification_refusals WHERE dedup_key = ?", key).Error; err != nil {
			return err
		}
		expires := at + hold.Milliseconds()
		var refused string
		err := one(tx.Raw(`INSERT INTO notification_refusals (dedup_key, response_status, response_body, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key`, key, ref.Status, ref.Body, expires)).
			Scan(&refused)
		if errors.Is(err, sql.ErrNoRows) {
			return errClaimRaced
		}
		if err != nil {
			return err
		}
		out = refusedClaim(key, ref.Status, ref.Body, expires)
		return nil
	})
	if err != nil {
		return NotificationClaim{}, fmt.Errorf("refuse notification: %w", err)
	}
	return out, nil
}

// refusalTx fills out with the live refusal of key, if there is one.
func refusalTx(tx *gorm.DB, key string, now int64, out *NotificationClaim) (bool, error) {
	var status int
	var body []byte
	var expires int64
	err := one(tx.Raw("SELECT response_status, response_body, expires_at FROM notification_refusals WHERE dedup_key = ? AND expires_at > ?", key, now)).
		Scan(&status, &body, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	*out = refusedClaim(key, status, body, expires)
	return true, nil
}

func refusedClaim(key string, status int, body []byte, expires int64) NotificationClaim {
	return NotificationClaim{Notification: registry.Notification{DedupKey: key, ResponseStatus: status, ResponseBody: body},
		ExpiresAt: fromMs(expires), Refused: true}
}

// countCopyTx counts a copy of the live claim of key, if there is one, and fills out. expired
// reports a claim of key whose window has ended (the caller deletes it before claiming anew;
// a new key costs no delete).
func countCopyTx(tx *gorm.DB, key, bodyHash, source string, now int64, out *NotificationClaim) (found, expired bool, err error) {
	var c claimRow
	err = one(tx.Raw("SELECT notification_id, expires_at FROM notification_claims WHERE dedup_key = ?", key)).
		Scan(&c.NotificationID, &c.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if c.ExpiresAt <= now {
		return false, true, nil
	}
	n, err := scanNotification(one(tx.Raw(`UPDATE notifications SET copies = copies + 1, diverged = (diverged OR body_hash <> ?)
		WHERE id = ? RETURNING `+notificationColumns, bodyHash, c.NotificationID)))
	if err != nil {
		return false, false, err // sql.ErrNoRows: the claim's notification is gone
	}
	if err := recordCopyTx(tx, c.NotificationID, CopyRecord{Source: source, At: fromMs(now), BodyHash: bodyHash}); err != nil {
		return false, false, err
	}
	*out = NotificationClaim{Notification: n, ExpiresAt: fromMs(c.ExpiresAt)}
	return true, false, nil
}

// notificationColumns are the columns of notificationRow, in scanNotification's order.
const notificationColumns = `id, dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, copies, diverged,
	response_status, response_body`

func scanNotification(sc scanner) (registry.Notification, error) {
	var r notificationRow
	err := sc.Scan(&r.ID, &r.DedupKey, &r.MinerID, &r.Event, &r.ICTimestamp, &r.Data, &r.BodyHash,
		&r.ReceivedAt, &r.Copies, &r.Diverged, &r.ResponseStatus, &r.ResponseBody)
	return r.toNotification(), err
}

// AddNotificationCopies applies a batch of copy counts, and records their copies, in one
// transaction. Rows deleted meanwhile are skipped.
func (s *Store) AddNotificationCopies(ctx context.Context, batch []NotificationCopies) error {
	if len(batch) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		for _, c := range batch {
			err := tx.Exec("UPDATE notifications SET copies = copies + ?, diverged = (diverged OR ?) WHERE id = ?",
				c.Copies, c.Diverged, c.ID).Error
			if err != nil {
				return err
			}
			for _, r := range c.Records {
				if err := recordCopyTx(tx, c.ID, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add notification copies: %w", err)
	}
	return nil
}

// DeleteExpiredClaims removes every claim and refusal whose window ended at or before now and
// returns how many. The notifications themselves stay: they are the event log.
func (s *Store) DeleteExpiredClaims(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM notification_claims WHERE expires_at <= ?", ms(now))
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		res = tx.Exec("DELETE FROM notification_refusals WHERE expires_at <= ?", ms(now))
		n += res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired claims: %w", err)
	}
	return n, nil
}

// PruneNotifications deletes up to limit notifications received more than keep before now,
// oldest first, and returns how many it deleted. Small batches keep the write lock short; call
// it again while it returns limit. A notification whose dedup claim is still live at now is kept.
func (s *Store) PruneNotifications(ctx context.Context, now time.Time, keep time.Duration, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM notifications WHERE id IN (
			SELECT n.id FROM notifications n WHERE n.received_at < ?
			AND NOT EXISTS (SELECT 1 FROM notification_claims c WHERE c.notification_id = n.id AND c.expires_at > ?)
			ORDER BY n.id LIMIT ?)`, ms(now.Add(-keep)), ms(now), limit)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("prune notifications: %w", err)
	}
	return n, nil
}

// Notification returns the notification with the given id.
func (s *Store) Notification(ctx context.Context, id int64) (registry.Notification, error) {
	n, err := scanNotification(s.readOne(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE id = ?", id))
	if err != nil {
		return registry.Notification{}, fmt.Errorf("get notification %d: %w", id, translate(err))
	}
	return n, nil
}

// NotificationByKey returns the newest notification stored under dedup key.
func (s *Store) NotificationByKey(ctx context.Context, key string) (registry.Notification, error) {
	n, err := scanNotification(s.readOne(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE dedup_key = ? ORDER BY id DESC LIMIT 1", key))
	if err != nil {
		return registry.Notification{}, fmt.Errorf("get notification by key: %w", translate(err))
	}
	return n, nil
}
