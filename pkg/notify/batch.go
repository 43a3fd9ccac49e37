package notify

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// maxClaimBatch is the most claims committed in one transaction.
const maxClaimBatch = 64

// maxYields bounds the yields of one fill (it stops earlier, at the first yield that brings
// no claim).
const maxYields = 4

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
// until ctx ends. With one claim waiting it commits after one yield of the processor (fill):
// batching adds no timer and no wait for claims that are not on their way. The
// effects and answers of a committed batch are handed to deliverLoop, in commit order, so the
// next transaction need not wait for them; claimsDone closes when both loops are done.
func (in *Intake) claimLoop(ctx context.Context) {
	in.store.PrepareClaims(ctx) // before the first batch, which would otherwise wait for it
	committed := make(chan committedBatch, 4)
	delivered := make(chan struct{})
	go in.deliverLoop(committed, delivered)
	defer func() {
		close(committed)
		<-delivered
		close(in.claimsDone)
	}()
	for {
		var batch []*claimReq
		select {
		case <-ctx.Done():
			return
		case r := <-in.claims:
			batch = append(make([]*claimReq, 0, maxClaimBatch), r)
		}
		batch = in.fill(batch)
		if batch = in.take(batch, time.Now()); len(batch) > 0 {
			committed <- in.commit(ctx, batch)
		}
	}
}

// fill adds the claims waiting in the queue to batch, up to maxClaimBatch. When the queue is
// empty it yields the processor (runtime.Gosched) and looks again, as long as a yield brought
// more claims: handlers that are runnable, about to queue theirs, get to do so first and share
// this transaction instead of each paying for the next one alone. When nothing else is
// runnable a yield returns at once, so a lone claim is not delayed.
func (in *Intake) fill(batch []*claimReq) []*claimReq {
	for yields := 0; ; yields++ {
		before := len(batch)
	drain:
		for len(batch) < maxClaimBatch {
			select {
			case r := <-in.claims:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == maxClaimBatch || yields == maxYields || (yields > 0 && len(batch) == before) {
			return batch
		}
		runtime.Gosched()
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

// committedBatch is a batch written (or not: err) by one transaction, with its outcomes.
type committedBatch struct {
	batch []*claimReq
	out   []store.NotificationClaim
	err   error
}

// commit claims a batch (every request in it committing) in one transaction. Every request gets
// the write's outcome (deliver): the claims, or the error of a transaction that was rolled back
// as a whole (store.write retries a busy database within the same deadline, each attempt all or
// nothing).
func (in *Intake) commit(ctx context.Context, batch []*claimReq) committedBatch {
	ns := make([]*registry.Notification, len(batch))
	for i, r := range batch {
		ns[i] = r.n
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.decideTimeout)
	defer cancel()
	start := time.Now()
	out, err := in.store.ClaimNotifications(ctx, ns, in.window)
	in.m.decide.Observe(time.Since(start).Seconds())
	return committedBatch{batch: batch, out: out, err: err}
}

// deliverLoop has the effect of every notification each committed batch claimed, in commit
// order, and then answers the batch's requests, until committed is closed.
func (in *Intake) deliverLoop(committed <-chan committedBatch, done chan<- struct{}) {
	defer close(done)
	for c := range committed {
		for i, r := range c.batch {
			if c.err != nil {
				r.resp <- claimResp{err: c.err}
				continue
			}
			if c.out[i].Claimed {
				in.m.claimed.Inc()
				in.effect(&c.out[i])
			}
			r.resp <- claimResp{claim: c.out[i]}
		}
	}
}
