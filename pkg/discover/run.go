package discover

import (
	"context"
	"fmt"
	"sync"

	"canistry/pkg/registry"
)

// Run discovers once: it reads SNS-W and every DAO, registers what it found and records the
// run with its event, then publishes the event and, when it registered anything, asks the
// pollers for a sweep so the new canisters are read at once. A DAO whose root cannot be read
// is registered from SNS-W's listing (without archives) and counted failed; one whose ledger
// symbol cannot be read is named from its root id. Only an unreadable SNS-W fails the run
// (it is still recorded, with the error).
func (d *Discoverer) Run(ctx context.Context, trigger string) (registry.DiscoveryRun, error) {
	if !d.running.TryLock() {
		return registry.DiscoveryRun{}, ErrRunning
	}
	defer d.running.Unlock()
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	run := registry.DiscoveryRun{Source: registry.DiscoverySNS, Trigger: trigger, StartedAt: d.cfg.Now()}
	snses, listErr := d.ic.DeployedSNSes(ctx, d.cfg.SNSWasm)
	var found []registry.Discovered
	if listErr != nil {
		run.Errors = []string{fmt.Sprintf("SNS-W %s: %v", d.cfg.SNSWasm, listErr)}
	} else {
		found = d.readDAOs(ctx, snses, &run)
	}
	if ctx.Err() != nil {
		return run, fmt.Errorf("discovery cut off: %w", context.Cause(ctx))
	}
	out, evs, err := d.store.ApplyDiscovery(ctx, run, found, func(r registry.DiscoveryRun) (registry.Event, error) {
		return registry.NewEvent(registry.EventDiscoveryCompleted, r, d.cfg.Now())
	})
	if err != nil {
		return run, err
	}
	for _, e := range evs {
		if err := d.bus.PublishEvent(e); err != nil {
			d.logger.Warn("could not publish the discovery event; notifiers pick it up from the event log", "err", err)
		}
	}
	if out.Added > 0 {
		if err := d.bus.RequestRefresh(""); err != nil {
			d.logger.Warn("could not request a sweep; the next scheduled sweep reads the new canisters", "err", err)
		}
	}
	if listErr != nil {
		return out, fmt.Errorf("list SNSes: %w", listErr)
	}
	return out, nil
}

// readDAOs reads every DAO, Concurrency at a time, and returns their canisters in SNS-W's
// order; it counts DAOs and failures and records errors in run.
func (d *Discoverer) readDAOs(ctx context.Context, snses []registry.SNSCanisters, run *registry.DiscoveryRun) []registry.Discovered {
	type result struct {
		found []registry.Discovered
		errs  []string
	}
	results := make([]result, len(snses))
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range snses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i].found, results[i].errs = d.readDAO(ctx, snses[i])
		}()
	}
	wg.Wait()
	var found []registry.Discovered
	for _, r := range results {
		found = append(found, r.found...)
		run.DAOs++
		if len(r.errs) > 0 {
			run.Failed++
		}
		for _, e := range r.errs {
			if len(run.Errors) < maxErrors {
				run.Errors = append(run.Errors, e)
			}
		}
	}
	return found
}

// readDAO reads one DAO's canisters from its root (falling back to SNS-W's listing) and its
// ledger's symbol.
func (d *Discoverer) readDAO(ctx context.Context, listed registry.SNSCanisters) ([]registry.Discovered, []string) {
	var errs []string
	dao, err := d.ic.SNSCanisters(ctx, listed.Root)
	if err != nil {
		errs = append(errs, fmt.Sprintf("root %s: %v", listed.Root, err))
		dao = listed
	}
	dao.Root = listed.Root // the root SNS-W names is the DAO's identity
	fill := func(got *registry.CanisterID, from registry.CanisterID) {
		if *got == "" {
			*got = from
		}
	}
	fill(&dao.Governance, listed.Governance)
	fill(&dao.Ledger, listed.Ledger)
	fill(&dao.Index, listed.Index)
	fill(&dao.Swap, listed.Swap)
	var symbol string
	if dao.Ledger != "" {
		if symbol, err = d.ic.LedgerSymbol(ctx, dao.Ledger); err != nil {
			errs = append(errs, fmt.Sprintf("ledger %s: %v", dao.Ledger, err))
		}
	}
	return dao.Discover(symbol), errs
}
