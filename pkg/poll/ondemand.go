package poll

import (
	"errors"

	"canistry/pkg/bus"
	"canistry/pkg/registry"
)

// flight is a canister being refreshed. pending is set when a request for it arrives
// meanwhile: the refresh runs once more when the current one ends, however many requests
// arrived (they coalesce), so the stored data is never older than the last request.
type flight struct{ pending bool }

// claim marks id as being refreshed; it reports false if it already is.
func (p *Poller) claim(id registry.CanisterID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.inflight[string(id)]; ok {
		return false
	}
	p.inflight[string(id)] = &flight{}
	return true
}

// release ends id's refresh. If requests arrived meanwhile it keeps the claim and refreshes
// once more in the background.
func (p *Poller) release(id registry.CanisterID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.inflight[string(id)]
	if f == nil || !f.pending || p.stopped {
		delete(p.inflight, string(id))
		return
	}
	f.pending = false
	p.wg.Add(1) // under mu with stopped unset, as begin does
	go p.refreshRequested(id)
}

// handleRequest serves canistry.refresh: {} starts a sweep unless one runs, {canister_id}
// refreshes that canister now. It returns at once; the work runs on its own goroutine.
func (p *Poller) handleRequest(_ string, req bus.RefreshRequest) {
	if req.CanisterID == "" {
		p.requestSweep()
		return
	}
	id, err := registry.ParseCanisterID(req.CanisterID)
	if err != nil {
		p.metrics.requests.WithLabelValues(requestUnknown).Inc()
		p.logger.Warn("refresh request ignored", "err", err)
		return
	}
	p.Request(id)
}

func (p *Poller) requestSweep() {
	if !p.begin() {
		return
	}
	go func() {
		defer p.wg.Done()
		_, err := p.sweep(p.ctx, triggerRequest)
		switch {
		case errors.Is(err, ErrSweepRunning):
			p.metrics.requests.WithLabelValues(requestSweepRunning).Inc()
		case err == nil:
			p.metrics.requests.WithLabelValues(requestSweep).Inc()
		case p.ctx.Err() == nil:
			p.metrics.requests.WithLabelValues(requestSweep).Inc()
			p.logger.Error("requested sweep failed", "err", err)
		}
	}()
}

// Request refreshes canister id now, in the background. A request for a canister whose
// refresh is running coalesces into one more refresh after it.
func (p *Poller) Request(id registry.CanisterID) {
	p.mu.Lock()
	if f, ok := p.inflight[string(id)]; ok {
		f.pending = true
		p.mu.Unlock()
		p.metrics.requests.WithLabelValues(requestCoalesced).Inc()
		return
	}
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.inflight[string(id)] = &flight{}
	p.wg.Add(1)
	p.mu.Unlock()
	p.metrics.requests.WithLabelValues(requestStarted).Inc()
	go p.refreshRequested(id)
}

// refreshRequested refreshes a claimed canister on demand (at most Concurrency at once), then
// releases it. It runs on its own goroutine, counted in p.wg.
func (p *Poller) refreshRequested(id registry.CanisterID) {
	defer p.wg.Done()
	defer p.release(id)
	select {
	case p.onDemand <- struct{}{}:
		defer func() { <-p.onDemand }()
	case <-p.ctx.Done():
		return
	}
	rec, err := p.store.GetCanister(p.ctx, id)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		p.metrics.requests.WithLabelValues(requestUnknown).Inc()
		p.logger.Info("refresh requested for an unregistered canister", "canister_id", id)
		return
	}
	var ledgers []registry.CanisterID
	if err == nil && rec.Kind == registry.KindWallet {
		ledgers, err = p.store.TrackedLedgers(p.ctx)
	}
	if err != nil {
		if p.ctx.Err() == nil {
			p.logger.Error("requested refresh", "canister_id", id, "err", err)
		}
		return
	}
	res := p.refresh(p.ctx, rec.Canister, ledgers)
	switch {
	case res.outcome == outcomeFailed:
		p.logger.Warn("requested refresh failed; backed off", "canister_id", id, "err", res.err)
	case res.publishErr != nil:
		p.logger.Warn("requested refresh: events not published", "canister_id", id, "err", res.publishErr)
	}
}
