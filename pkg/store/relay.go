package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The outcall relay's claim (pkg/relay). It follows the intake's pattern (ClaimNotifications):
// the key's row in relay_claims, inserted under the database's write lock with its primary key
// deciding, makes one copy the caller of the upstream across copies, processes and restarts;
// every other copy replays the reply stored on the call. Unlike a notification, a relay call
// has a duration: it is running while its owner calls the upstream, under a lease the owner
// renews, and done once its reply is stored.

// RelayClaim is one copy of a relay call, to decide.
type RelayClaim struct {
	KeyHash, Fingerprint, Route, Method, Path string
	Owner                                     string // this notifier process
	Family                                    string // the copy's source address family: ipv4, ipv6 or ""
	Now                                       time.Time
	Lease                                     time.Duration // a new or taken-over call's lease
	Window                                    time.Duration // how long a new key is remembered (DEDUP_WINDOW)
	// Rerun is set for GET and HEAD: a running call whose owner's lease expired (the process
	// died mid-call) is taken over and called again. Any other method is never re-run: the call
	// gets Unknown as its stored reply.
	Rerun   bool
	Unknown RelayResult
	// Refusal, when set (the caller's rate limit is spent), is stored as a new key's reply for
	// RefusalHold instead of a new call; a key already claimed is answered as usual.
	Refusal     *RelayResult
	RefusalHold time.Duration
	// Recheck marks a copy already counted, deciding again after its wait for a running call.
	Recheck bool
}

// RelayResult is how a relay call ended.
type RelayResult struct {
	Result         string // registry.RelayOK or an error code
	UpstreamStatus int
	Duration       time.Duration
	Reply          registry.RelayReply
}

// RelayDecision is the outcome of ClaimRelayCall.
type RelayDecision struct {
	Call registry.RelayCall
	// Execute: this process calls the upstream and then FinishRelayCall (a new call, or a GET
	// or HEAD taken over from a dead owner). Otherwise Call.State says what to do: done, replay
	// Call.Reply; running, wait for it (RelayCall) until Call.LeaseUntil, then decide again.
	Execute bool
	// Claimed: a new call or refusal row was inserted (a new key: the rate-limit token stays spent).
	Claimed bool
	// ExpiresAt is when the key's claim ends, as it stood at the decision.
	ExpiresAt time.Time
}

// relayCallColumns are the columns of scanRelayCall, in its order.
const relayCallColumns = `id, route, method, path, key_hash, fingerprint, state, owner, lease_expires_at, attempts,
	started_at, finished_at, result, upstream_status, duration_ms, copies, copies_ipv4, copies_ipv6, diverged,
	response_status, response_head, response_body`

func scanRelayCall(sc scanner) (registry.RelayCall, error) {
	var c registry.RelayCall
	var lease, started, finished, dur int64
	var head string
	err := sc.Scan(&c.ID, &c.Route, &c.Method, &c.Path, &c.KeyHash, &c.Fingerprint, &c.State, &c.Owner, &lease, &c.Attempts,
		&started, &finished, &c.Result, &c.UpstreamStatus, &dur, &c.Copies, &c.CopiesIPv4, &c.CopiesIPv6, &c.Diverged,
		&c.Reply.Status, &head, &c.Reply.Body)
	if err != nil {
		return c, err
	}
	c.LeaseUntil, c.StartedAt, c.Duration = fromMs(lease), fromMs(started), time.Duration(dur)*time.Millisecond
	if finished > 0 {
		c.FinishedAt = fromMs(finished)
	}
	c.Reply.Headers, err = decodeRelayHead(head)
	return c, err
}

func encodeRelayHead(hs []registry.RelayHeader) string {
	pairs := make([][2]string, len(hs))
	for i, h := range hs {
		pairs[i] = [2]string{h.Name, h.Value}
	}
	b, _ := json.Marshal(pairs) // strings only: cannot fail
	return string(b)
}

func decodeRelayHead(s string) ([]registry.RelayHeader, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, fmt.Errorf("stored relay reply headers: %w", err)
	}
	out := make([]registry.RelayHeader, len(pairs))
	for i, p := range pairs {
		out[i] = registry.RelayHeader{Name: p[0], Value: p[1]}
	}
	return out, nil
}

// ClaimRelayCall decides one copy of a relay call in one write transaction:
//
//   - a live claim of the key: the copy is counted on its call (unless Recheck; diverged when
//     its fingerprint differs) and the call is returned: done, or running under a live lease
//     (wait), or running under an expired lease, which a GET or HEAD takes over (Execute) and
//     any other method turns into the stored Unknown reply;
//   - otherwise (an expired claim is deleted first) a new call row, running and leased to
//     Owner, and its claim until Now+Window: Execute and Claimed. With Refusal set, the row is
//     the refusal instead, done at once, claimed until Now+RefusalHold.
func (s *Store) ClaimRelayCall(ctx context.Context, c RelayClaim) (RelayDecision, error) {
	var out RelayDecision
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = RelayDecision{}
		now := ms(c.Now)
		var callID, expires int64
		err := one(tx.Raw("SELECT call_id, expires_at FROM relay_claims WHERE key_hash = ?", c.KeyHash)).Scan(&callID, &expires)
		switch {
		case err == nil && expires > now:
			out.ExpiresAt = fromMs(expires)
			return relayExistingTx(tx, &c, callID, now, &out)
		case err == nil:
			if err := tx.Exec("DELETE FROM relay_claims WHERE key_hash = ?", c.KeyHash).Error; err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return relayInsertTx(tx, &c, now, &out)
	})
	if err != nil {
		return RelayDecision{}, fmt.Errorf("claim relay call: %w", err)
	}
	return out, nil
}

// relayExistingTx decides a copy of the live claim of callID.
func relayExistingTx(tx *gorm.DB, c *RelayClaim, callID, now int64, out *RelayDecision) error {
	q := tx.Raw("SELECT "+relayCallColumns+" FROM relay_calls WHERE id = ?", callID)
	if !c.Recheck {
		v4, v6 := familyCounts(c.Family)
		q = tx.Raw(`UPDATE relay_calls SET copies = copies + 1, copies_ipv4 = copies_ipv4 + ?, copies_ipv6 = copies_ipv6 + ?,
			diverged = (diverged OR fingerprint <> ?) WHERE id = ? RETURNING `+relayCallColumns, v4, v6, c.Fingerprint, callID)
	}
	call, err := scanRelayCall(one(q))
	if err != nil {
		return err
	}
	out.Call = call
	if call.State == registry.RelayDone || ms(call.LeaseUntil) > now {
		return nil
	}
	if c.Rerun { // the owner died mid-call: a GET or HEAD is called again, by this process
		out.Call, err = scanRelayCall(one(tx.Raw(`UPDATE relay_calls SET owner = ?, lease_expires_at = ?, attempts = attempts + 1
			WHERE id = ? RETURNING `+relayCallColumns, c.Owner, now+c.Lease.Milliseconds(), callID)))
		out.Execute = err == nil
		return err
	}
	done, _, err := finishRelayTx(tx, callID, "", c.Unknown, now, 0)
	out.Call = done
	return err
}

// relayInsertTx inserts the new call (or refusal) of c and its claim.
func relayInsertTx(tx *gorm.DB, c *RelayClaim, now int64, out *RelayDecision) error {
	v4, v6 := familyCounts(c.Family)
	state, result, expires, lease := registry.RelayRunning, "", now+c.Window.Milliseconds(), now+c.Lease.Milliseconds()
	reply := registry.RelayReply{Body: []byte{}}
	if c.Refusal != nil {
		state, result, expires, lease, reply = registry.RelayDone, c.Refusal.Result, now+c.RefusalHold.Milliseconds(), now, c.Refusal.Reply
	}
	var finished int64
	if state == registry.RelayDone {
		finished = now
	}
	call, err := scanRelayCall(one(tx.Raw(`INSERT INTO relay_calls (route, method, path, key_hash, fingerprint, state, owner,
		lease_expires_at, attempts, started_at, finished_at, result, copies, copies_ipv4, copies_ipv6, diverged,
		response_status, response_head, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 1, ?, ?, false, ?, ?, ?)
		RETURNING `+relayCallColumns, c.Route, c.Method, c.Path, c.KeyHash, c.Fingerprint, state, c.Owner, lease, now, finished,
		result, v4, v6, reply.Status, encodeRelayHead(reply.Headers), nonNil(reply.Body))))
	if err != nil {
		return err
	}
	var claimed string
	err = one(tx.Raw(`INSERT INTO relay_claims (key_hash, call_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash`, c.KeyHash, call.ID, expires)).Scan(&claimed)
	if errors.Is(err, sql.ErrNoRows) {
		return errClaimRaced // another writer's claim won: write runs the transaction again
	}
	*out = RelayDecision{Call: call, Execute: state == registry.RelayRunning, Claimed: true, ExpiresAt: fromMs(expires)}
	return err
}

func familyCounts(family string) (v4, v6 int) {
	switch family {
	case "ipv4":
		return 1, 0
	case "ipv6":
		return 0, 1
	}
	return 0, 0
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// finishRelayTx stores res on the running call id (owned by owner; "" for whoever owns it) and,
// when keep > 0, makes its claim end keep after now (a GET's get_ttl). It returns the stored
// call and whether this write stored it; when the call was done already (its owner's lease had
// expired and another copy decided it), the call as stored then.
func finishRelayTx(tx *gorm.DB, id int64, owner string, res RelayResult, now int64, keep time.Duration) (registry.RelayCall, bool, error) {
	call, err := scanRelayCall(one(tx.Raw(`UPDATE relay_calls SET state = ?, finished_at = ?, result = ?, upstream_status = ?,
		duration_ms = ?, response_status = ?, response_head = ?, response_body = ?
		WHERE id = ? AND state = ? AND (owner = ? OR ? = '') RETURNING `+relayCallColumns,
		registry.RelayDone, now, res.Result, res.UpstreamStatus, res.Duration.Milliseconds(), res.Reply.Status,
		encodeRelayHead(res.Reply.Headers), nonNil(res.Reply.Body), id, registry.RelayRunning, owner, owner)))
	if errors.Is(err, sql.ErrNoRows) {
		call, err = scanRelayCall(one(tx.Raw("SELECT "+relayCallColumns+" FROM relay_calls WHERE id = ?", id)))
		return call, false, err
	}
	if err != nil {
		return call, false, err
	}
	if keep > 0 {
		err = tx.Exec("UPDATE relay_claims SET expires_at = ? WHERE call_id = ?", now+keep.Milliseconds(), id).Error
	}
	return call, true, err
}

// FinishRelayCall stores res as the reply of call id, which owner is executing, and returns the
// call as stored: with res, or, when owner lost the call meanwhile (its lease expired and
// another copy stored upstream_outcome_unknown, or re-ran a GET and stored that), the reply
// stored then, which every copy gets. keep > 0 makes the key's claim end keep after now.
func (s *Store) FinishRelayCall(ctx context.Context, id int64, owner string, res RelayResult, now time.Time, keep time.Duration) (registry.RelayCall, error) {
	var out registry.RelayCall
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		out, _, err = finishRelayTx(tx, id, owner, res, ms(now), keep)
		return err
	})
	if err != nil {
		return registry.RelayCall{}, fmt.Errorf("finish relay call %d: %w", id, err)
	}
	return out, nil
}

// RenewRelayLease extends owner's lease on the running call id until until; false when owner
// no longer holds it.
func (s *Store) RenewRelayLease(ctx context.Context, id int64, owner string, until time.Time) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE relay_calls SET lease_expires_at = ? WHERE id = ? AND owner = ? AND state = ?",
			ms(until), id, owner, registry.RelayRunning)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("renew relay lease %d: %w", id, err)
	}
	return n == 1, nil
}
