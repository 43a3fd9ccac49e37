package notify

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// maxClaimBatch is the most claims committed in one transaction.
const maxClaimBatch = 64

// The states of a queued claim. A request leaves claimQueued exactly once, by a compare-and-swap
// that either its waiter or the claim loop wins:
//
//   - the claim loop moves it to claimCommitting before the write transaction that carries it;
//     from then on its waiter answers with that write's outcome, however long the write takes
//     (it is bounded by its own timeout), so a copy is never answered 503 for a claim that is
//     then committed;
//   - its waiter, when its deadline passes first, moves it to claimAbandoned and only then
//     answers 503 "nothing was recorded"; the claim loop skips it, so that is true. The claim
//     loop does the same for a request whose deadline has passed by the time it is taken.
const (
	claimQueued int32 = iota
	claimCommitting
	claimAbandoned
)

// claimReq asks the claim loop to claim n; the answer arrives on resp (capacity 1).
type claimReq struct {
	n        *registry.Notification
	deadline time.Time // the waiter's; zero for none
	state    atomic.Int32
	resp     chan claimResp
}

type claimResp struct {
	claim store.NotificationClaim
	err   error
}

// errAbandoned is the cause of the 503 of a claim that was never written.
var errAbandoned = errors.New("claim abandoned before its write")

// claim claims n through the group commit: concurrent claims of different keys share one
// transaction, which is what lets one SQLite writer keep up with a busy intake. It returns an
// unavailable error only when n was not and will not be written (see claimQueued), or when the
// write that carried it failed (rolled back).
func (in *Intake) claim(ctx context.Context, n *registry.Notification) (store.NotificationClaim, error) {
	deadline, _ := ctx.Deadline()
	r := &claimReq{n: n, deadline: deadline, resp: make(chan claimResp, 1)}
	select {
	case in.claims <- r:
	case <-ctx.Done():
		return store.NotificationClaim{}, registry.WrapError(registry.EUNAVAILABLE, "timed out waiting to queue the notification", ctx.Err())
	}
	select {
	case res := <-r.resp:
		return res.claim, res.err
	case <-ctx.Done():
	}
	if r.state.CompareAndSwap(claimQueued, claimAbandoned) {
		in.m.abandoned.Inc()
		return store.NotificationClaim{}, registry.WrapError(registry.EUNAVAILABLE, "timed out waiting to store the notification", errors.Join(errAbandoned, ctx.Err()))
	}
	// The claim loop took it first (or dropped it as expired): its answer decides.
	res := <-r.resp
	return res.claim, res.err
}

// claimLoop takes the waiting claims, up to maxClaimBatch, commits them together, and repeats
// until ctx ends. With one claim waiting it commits at once: batching adds no delay.
func (in *Intake) claimLoop(ctx context.Context) {
	defer close(in.claimsDone)
	batch := make([]*claimReq, 0, maxClaimBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-in.claims:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxClaimBatch {
			select {
			case r := <-in.claims:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if batch = in.take(batch, time.Now()); len(batch) > 0 {
			in.commit(ctx, batch)
		}
	}
}

// take moves each request of batch from queued to committing and returns those it moved. A
// request its waiter abandoned is skipped; one whose deadline has passed is abandoned here and
// answered so (its waiter is about to give up anyway, and a write for it could only mislead).
func (in *Intake) take(batch []*claimReq, now time.Time) []*claimReq {
	kept := batch[:0]
	for _, r := range batch {
		if !r.deadline.IsZero() && !now.Before(r.deadline) {
			if r.state.CompareAndSwap(claimQueued, claimAbandoned) {
				in.m.abandoned.Inc()
				r.resp <- claimResp{err: registry.WrapError(registry.EUNAVAILABLE, "the notification expired in the queue", errAbandoned)}
			}
			continue
		}
		if r.state.CompareAndSwap(claimQueued, claimCommitting) {
			kept = append(kept, r)
		}
	}
	return kept
}

// commit claims a batch (every request in it committing) and has the effect of every
// notification it claimed, right after the commit. Every request gets the write's outcome: the
// claims, or the error of a transaction that was rolled back as a whole (store.write retries a
// busy database within the same deadline, each attempt all or nothing).
func (in *Intake) commit(ctx context.Context, batch []*claimReq) {
	ns := make([]*registry.Notification, len(batch))
	for i, r := range batch {
		ns[i] = r.n
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.decideTimeout)
	defer cancel()
	start := time.Now()
	out, err := in.store.ClaimNotifications(ctx, ns, in.window)
	in.m.decide.Observe(time.Since(start).Seconds())
	for i, r := range batch {
		if err != nil {
			r.resp <- claimResp{err: err}
			continue
		}
		if out[i].Claimed {
			in.m.claimed.Inc()
			in.effect(&out[i])
		}
		r.resp <- claimResp{claim: out[i]}
	}
}
