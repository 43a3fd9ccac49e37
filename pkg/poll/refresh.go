package poll

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
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
	return p.save(parent, c, obs, start)
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
// canister fails its token read but its new, empty module hash must still be recorded),
// together with the attempt's bookkeeping and the events of what changed, in one transaction
// (store.SaveRefresh); then it rings the bus for the logged events. If that write fails, the
// attempt is recorded as failed on its own.
func (p *Poller) save(ctx context.Context, c registry.Canister, o observation, at time.Time) result {
	var readErrs []error
	w := store.RefreshWrite{ID: c.ID, At: at}
	if o.stateErr != nil {
		readErrs = append(readErrs, o.stateErr)
	} else {
		w.State = &o.state
	}
	if o.kindErr != nil {
		readErrs = append(readErrs, o.kindErr)
	} else {
		p.kindWrite(&w, c, o, at)
	}
	res := result{partialErr: o.ledgers}
	if err := errors.Join(readErrs...); err != nil {
		res.outcome, res.err = outcomeFailed, err
	}
	attempt := p.attempt(c, at, res)
	w.Refresh = &attempt
	w.Events = func(changes []registry.Change, changed []string) ([]registry.Event, error) {
		return changeEvents(c, changes, changed, at)
	}
	saved, err := p.store.SaveRefresh(ctx, w)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
		return result{outcome: outcomeSkipped}
	}
	if err != nil {
		res.outcome, res.err = outcomeFailed, errors.Join(res.err, err)
		return p.record(ctx, c, at, res)
	}
	res.changed = len(saved.Changed) > 0
	p.updateBadges(ctx, c, w.State, w.Token, saved.Changes, at)
	p.recordCycles(ctx, c, w.State, at)
	var pubErrs []error
	for _, e := range saved.Events {
		pubErrs = append(pubErrs, p.bus.PublishEvent(e))
	}
	res.publishErr = errors.Join(pubErrs...)
	p.count(c, res)
	return res
}

// kindWrite puts the kind-specific part of o, stamped with the poller's clock, into w.
func (p *Poller) kindWrite(w *store.RefreshWrite, c registry.Canister, o observation, at time.Time) {
	switch c.Kind {
	case registry.KindToken:
		o.token.UpdatedAt = at
		w.Token = &o.token
	case registry.KindMiner:
		o.miner.UpdatedAt = at
		w.Miner = &o.miner
		if o.stats != nil {
			st := *o.stats
			st.ObservedAt = at
			w.Stats = &st
		}
	case registry.KindWallet:
		for i := range o.balances {
			o.balances[i].UpdatedAt = at
		}
		w.Balances, w.Wallet = o.balances, true
	}
}

// changeEvents are the registry events of one refresh: one per module hash or controllers
// change, then canister.updated naming every changed field (a new certified install among
// them, as "install").
func changeEvents(c registry.Canister, changes []registry.Change, changed []string, at time.Time) ([]registry.Event, error) {
	var out []registry.Event
	for _, ch := range changes {
		if ch.Field == registry.ChangeInstall {
			continue
		}
		name, data := changeEvent(c, ch)
		e, err := registry.NewEvent(name, data, at)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", name, err)
		}
		out = append(out, e)
	}
	if len(changed) > 0 {
		e, err := registry.NewEvent(registry.EventCanisterUpdated,
			updatedEvent{CanisterID: c.ID, Kind: c.Kind, Changed: changed}, at)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", registry.EventCanisterUpdated, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// attempt is the bookkeeping of an attempt that started at start with outcome res: success
// resets the failure count and makes the canister due at the next sweep; failure keeps the
// last good values, stores the error and backs off.
func (p *Poller) attempt(c registry.Canister, start time.Time, res result) registry.RefreshState {
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
	return st
}

// record stores the attempt on its own (when nothing else of it could be stored). A canister
// deleted while it was read counts as skipped.
func (p *Poller) record(ctx context.Context, c registry.Canister, start time.Time, res result) result {
	err := p.store.RecordRefresh(ctx, c.ID, p.attempt(c, start, res))
	if res.gone || registry.ErrorCode(err) == registry.ENOTFOUND {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
		return result{outcome: outcomeSkipped}
	}
	if err != nil {
		res.outcome, res.err = outcomeFailed, errors.Join(res.err, err)
	}
	p.count(c, res)
	return res
}

// count tallies a recorded attempt in the metrics.
func (p *Poller) count(c registry.Canister, res result) {
	if res.outcome == outcomeFailed {
		p.metrics.failed.WithLabelValues(string(c.Kind)).Inc()
	} else {
		p.metrics.refreshed.WithLabelValues(string(c.Kind)).Inc()
	}
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
