package poll

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"canistry/pkg/registry"
)

// outcome is what became of one canister's refresh.
type outcome int

const (
	outcomeRefreshed outcome = iota
	outcomeFailed
	outcomeSkipped
)

// result is one canister's refresh as the sweep tallies it.
type result struct {
	outcome    outcome
	changed    bool
	gone       bool  // the store no longer has the canister (deleted while it was read)
	err        error // why it failed
	partialErr error // wallet ledgers that did not answer (the refresh still succeeded)
	publishErr error
}

// observation is everything read from the IC for one canister. A nil error means that part was
// read; for wallets, balances holds the ledgers that answered.
type observation struct {
	state    registry.CanisterState
	stateErr error
	token    registry.TokenInfo
	miner    registry.MinerInfo
	stats    *registry.MinerStats
	balances []registry.Balance
	kindErr  error
	ledgers  error // wallets: the ledgers that did not answer
}

// maxErrorLen bounds the stored last_error.
const maxErrorLen = 1000

// refreshSwept refreshes a canister handed out by a sweep, unless it is being refreshed
// already (on demand), in which case the sweep skips it.
func (p *Poller) refreshSwept(ctx context.Context, c registry.Canister, ledgers []registry.CanisterID) result {
	if !p.claim(c.ID) {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
		return result{outcome: outcomeSkipped}
	}
	defer p.release(c.ID)
	return p.refresh(ctx, c, ledgers)
}

// refresh reads c from the IC under the refresh timeout, stores what it learned, publishes
// events for what changed and records the attempt. When parent ends (shutdown) before the
// reads are done, nothing is recorded and the canister counts as skipped. A panic while
// refreshing one canister fails that canister only.
func (p *Poller) refresh(parent context.Context, c registry.Canister, ledgers []registry.CanisterID) (res result) {
	start := p.now()
	defer func() {
		if r := recover(); r != nil {
			res = p.record(parent, c, start, result{outcome: outcomeFailed,
				err: registry.Errorf(registry.EINTERNAL, "panic while refreshing: %v", r)})
		}
	}()
	if _, err := registry.ParseCanisterID(string(c.ID)); err != nil {
		return p.record(parent, c, start, result{outcome: outcomeFailed, err: err})
	}
	ctx, cancel := context.WithTimeout(parent, p.cfg.Timeout)
	obs := p.read(ctx, c, ledgers)
	cancel()
	if parent.Err() != nil {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
		return result{outcome: outcomeSkipped}
	}
	res = p.save(parent, c, obs, start)
	return p.record(parent, c, start, res)
}

// read runs the certified state read and the kind's read at once.
func (p *Poller) read(ctx context.Context, c registry.Canister, ledgers []registry.CanisterID) observation {
	var o observation
	var wg sync.WaitGroup
	wg.Go(func() {
		begin := time.Now()
		o.state, o.stateErr = p.ic.Canister(ctx, c.ID)
		p.metrics.observeCall("canister", begin, o.stateErr)
	})
	begin := time.Now()
	switch c.Kind {
	case registry.KindToken:
		o.token, o.kindErr = p.ic.Token(ctx, c.ID)
		p.metrics.observeCall("token", begin, o.kindErr)
	case registry.KindMiner:
		o.miner, o.stats, o.kindErr = p.ic.Miner(ctx, c.ID)
		p.metrics.observeCall("miner", begin, o.kindErr)
	case registry.KindWallet:
		if len(ledgers) > 0 {
			o.balances, o.ledgers = p.ic.Wallet(ctx, c.ID, ledgers)
			p.metrics.observeCall("wallet", begin, o.ledgers)
			if len(o.balances) == 0 {
				// Not one ledger answered: treat it as the wallet's read failing.
				o.kindErr, o.ledgers = o.ledgers, nil
			}
		}
	}
	wg.Wait()
	return o
}

// save stores every part of o that was read, even when another part failed (an uninstalled
// canister fails its token read but its new, empty module hash must still be recorded), and
// publishes events for what changed.
func (p *Poller) save(ctx context.Context, c registry.Canister, o observation, at time.Time) result {
	var changed []string
	var errs, storeErrs, pubErrs []error
	if o.stateErr != nil {
		errs = append(errs, o.stateErr)
	} else {
		changes, err := p.store.SaveCanisterState(ctx, c.ID, o.state.ModuleHash, o.state.Controllers, at)
		storeErrs = append(storeErrs, err)
		for _, ch := range changes {
			changed = append(changed, ch.Field)
			name, data := changeEvent(c, ch)
			pubErrs = append(pubErrs, p.publish(name, data, at))
		}
	}
	if o.kindErr != nil {
		errs = append(errs, o.kindErr)
	} else {
		fields, err := p.saveKind(ctx, c, o, at)
		changed = append(changed, fields...)
		storeErrs = append(storeErrs, err)
	}
	if len(changed) > 0 {
		pubErrs = append(pubErrs, p.publish(registry.EventCanisterUpdated,
			updatedEvent{CanisterID: c.ID, Kind: c.Kind, Changed: changed}, at))
	}
	res := result{changed: len(changed) > 0, partialErr: o.ledgers, publishErr: errors.Join(pubErrs...)}
	for _, err := range storeErrs {
		res.gone = res.gone || registry.ErrorCode(err) == registry.ENOTFOUND
	}
	if err := errors.Join(append(errs, storeErrs...)...); err != nil {
		res.outcome, res.err = outcomeFailed, err
	}
	return res
}

// saveKind stores the kind-specific part of o, stamped with the poller's clock, and returns
// the names of the changed fields.
func (p *Poller) saveKind(ctx context.Context, c registry.Canister, o observation, at time.Time) ([]string, error) {
	switch c.Kind {
	case registry.KindToken:
		o.token.UpdatedAt = at
		return p.store.SaveToken(ctx, o.token)
	case registry.KindMiner:
		o.miner.UpdatedAt = at
		changed, err := p.store.SaveMiner(ctx, o.miner)
		if err == nil && o.stats != nil {
			st := *o.stats
			st.ObservedAt = at
			err = p.store.AddMinerStats(ctx, st)
		}
		return changed, err
	case registry.KindWallet:
		for i := range o.balances {
			o.balances[i].UpdatedAt = at
		}
		return p.store.SaveBalances(ctx, c.ID, o.balances)
	}
	return nil, nil
}

// record stores the attempt: success resets the failure count and makes the canister due at
// the next sweep; failure keeps the last good values, stores the error and backs off. A
// canister deleted while it was read counts as skipped.
func (p *Poller) record(ctx context.Context, c registry.Canister, start time.Time, res result) result {
	st := c.Refresh
	st.LastAttemptAt = &start
	if res.outcome == outcomeFailed {
		st.LastError = truncate(res.err.Error(), maxErrorLen)
		st.ConsecutiveFailures++
		st.NextAttemptAt = start.Add(Backoff(st.ConsecutiveFailures, p.cfg.BackoffBase, p.cfg.MaxBackoff, p.cfg.Rand))
	} else {
		st.LastSuccessAt = &start
		st.LastError, st.ConsecutiveFailures, st.NextAttemptAt = "", 0, start
	}
	err := p.store.RecordRefresh(ctx, c.ID, st)
	if res.gone || registry.ErrorCode(err) == registry.ENOTFOUND {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
		return result{outcome: outcomeSkipped}
	}
	if err != nil {
		res.outcome, res.err = outcomeFailed, errors.Join(res.err, err)
	}
	if res.outcome == outcomeFailed {
		p.metrics.failed.WithLabelValues(string(c.Kind)).Inc()
	} else {
		p.metrics.refreshed.WithLabelValues(string(c.Kind)).Inc()
	}
	return res
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// changeEvent is the event name and data of one module hash or controllers change.
func changeEvent(c registry.Canister, ch registry.Change) (string, any) {
	if ch.Field == registry.ChangeControllers {
		return registry.EventControllersChanged, controllersEvent{CanisterID: c.ID, Kind: c.Kind,
			ChangeID: ch.ID, Old: splitList(ch.Old), New: splitList(ch.New)}
	}
	return registry.EventModuleHashChanged, moduleHashEvent{CanisterID: c.ID, Kind: c.Kind,
		ChangeID: ch.ID, Old: ch.Old, New: ch.New}
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Event payloads (the data of canistry.events.<event>).
type (
	updatedEvent struct {
		CanisterID registry.CanisterID `json:"canister_id"`
		Kind       registry.Kind       `json:"kind"`
		Changed    []string            `json:"changed"`
	}
	moduleHashEvent struct {
		CanisterID registry.CanisterID `json:"canister_id"`
		Kind       registry.Kind       `json:"kind"`
		ChangeID   int64               `json:"change_id"`
		Old        string              `json:"old"`
		New        string              `json:"new"`
	}
	controllersEvent struct {
		CanisterID registry.CanisterID `json:"canister_id"`
		Kind       registry.Kind       `json:"kind"`
		ChangeID   int64               `json:"change_id"`
		Old        []string            `json:"old"`
		New        []string            `json:"new"`
	}
)

// publish sends one registry event; the error is returned for the sweep's tally.
func (p *Poller) publish(name string, data any, at time.Time) error {
	ev, err := registry.NewEvent(name, data, at)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	return p.bus.PublishEvent(ev)
}
