package notify

import (
	"context"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// maxClaimBatch is the most claims committed in one transaction.
const maxClaimBatch = 64

// claimReq asks the claim loop to claim n; the answer arrives on resp (capacity 1).
type claimReq struct {
	n    *registry.Notification
	resp chan claimResp
}

type claimResp struct {
	claim store.NotificationClaim
	err   error
}

// claim claims n through the group commit: concurrent claims of different keys share one
// transaction, which is what lets one SQLite writer keep up with a busy intake.
func (in *Intake) claim(ctx context.Context, n *registry.Notification) (store.NotificationClaim, error) {
	r := claimReq{n: n, resp: make(chan claimResp, 1)}
	select {
	case in.claims <- r:
	case <-ctx.Done():
		return store.NotificationClaim{}, registry.WrapError(registry.EUNAVAILABLE, "timed out waiting to store the notification", ctx.Err())
	}
	select {
	case res := <-r.resp:
		return res.claim, res.err
	case <-ctx.Done():
		return store.NotificationClaim{}, registry.WrapError(registry.EUNAVAILABLE, "timed out storing the notification", ctx.Err())
	}
}

// claimLoop takes the waiting claims, up to maxClaimBatch, commits them together, and repeats
// until ctx ends. With one claim waiting it commits at once: batching adds no delay.
func (in *Intake) claimLoop(ctx context.Context) {
	defer close(in.claimsDone)
	batch := make([]claimReq, 0, maxClaimBatch)
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
		in.commit(ctx, batch)
	}
}

// commit claims a batch and has the effect of every notification it claimed, right after the
// commit and whether or not its request is still waiting.
func (in *Intake) commit(ctx context.Context, batch []claimReq) {
	ns := make([]*registry.Notification, len(batch))
	for i, r := range batch {
		ns[i] = r.n
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
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
