package relay

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canistry/pkg/httperror"
	"canistry/pkg/httpserver"
	"canistry/pkg/ratelimit"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// decideMargin bounds the database work of deciding a key beyond the upstream's own timeout.
const decideMargin = 15 * time.Second

// ServeHTTP answers one copy of a relay call.
func (rl *Relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := rl.handle(w, r)
	if r.Method == http.MethodHead {
		reply.Body = nil
	}
	write(w, reply)
}

// write sends a reply: its status, exactly its headers and Content-Length, its body; no Date
// (net/http is told not to add one by a nil value, see http.ResponseWriter.Header).
func write(w http.ResponseWriter, rp registry.RelayReply) {
	h := w.Header()
	clear(h)
	h["Date"] = nil
	for _, x := range rp.Headers {
		h[x.Name] = []string{x.Value}
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no sniffing either
	}
	h["Content-Length"] = []string{strconv.Itoa(len(rp.Body))}
	w.WriteHeader(rp.Status)
	_, _ = w.Write(rp.Body)
}

// reject is the deterministic reply of a copy refused before any call.
func (rl *Relay) reject(status int, err error) registry.RelayReply {
	rl.m.rejected.WithLabelValues(registry.ErrorCode(err)).Inc()
	if status == 0 {
		status = httperror.Status(err)
	}
	return errorReply(status, err)
}

func (rl *Relay) handle(w http.ResponseWriter, r *http.Request) registry.RelayReply {
	t := rl.table.Load()
	name, rest, _ := splitPath(r.URL.EscapedPath())
	rt, ok := t.routes.Get(name)
	if !ok {
		return rl.reject(0, errorf(registry.ENOTFOUND, "no relay route %.64q", name))
	}
	if !hasMethod(rt, r.Method) {
		rp := rl.reject(http.StatusMethodNotAllowed, httperror.MethodError(r.Method, rt.Methods...))
		rp.Headers = append(rp.Headers, registry.RelayHeader{Name: "Allow", Value: strings.Join(rt.Methods, ", ")})
		return rp
	}
	idx, ok := rt.keys.Match(r.Header.Values("X-API-Key"))
	if !ok {
		return rl.reject(0, errorf(registry.EUNAUTHORIZED, "missing or unknown X-API-Key"))
	}
	c, err := parseCall(w, r, rt, rest, rt.keys[idx])
	if err != nil {
		return rl.reject(0, err)
	}
	c.family = family(httpserver.ClientAddr(r, rl.cfg.TrustedProxies))
	// A copy may wait for the upstream's whole timeout and a lease: more than the server's
	// write timeout allows by default.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(rt.Timeout + 3*rl.cfg.Lease + decideMargin))
	out, how := rl.mem.answer(c.keyHash, c.fingerprint, c.family, rl.cfg.Now(), func() outcome { return rl.decide(c, t) })
	if how != "decided" { // a deciding copy is counted by decide: executed, stored or waited_remote
		rl.m.copies.WithLabelValues(how).Inc()
		if how == "waited_local" {
			rl.m.waits.WithLabelValues("local").Inc()
		}
		if out.id != 0 && c.fingerprint != out.fingerprint {
			rl.m.diverged.Inc()
		}
	}
	return out.reply
}

func hasMethod(rt *Route, m string) bool {
	for _, x := range rt.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// family is ipv4 or ipv6 for a client address, "" when it is not one.
func family(addr string) string {
	if strings.Contains(addr, ":") {
		return "ipv6"
	}
	if addr != "" {
		return "ipv4"
	}
	return ""
}

// decide settles c's key for every copy coalesced with it in this process: from the database
// (a stored reply), by waiting for another process's running call, or by calling the upstream.
// Only a copy that creates a new call spends a rate-limit token.
func (rl *Relay) decide(c *call, t *table) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), c.route.Timeout+3*rl.cfg.Lease+decideMargin)
	defer cancel()
	now := rl.cfg.Now()
	resv, ok := ratelimit.Reserve(now, rl.limits.Get(c.limitKey, now))
	claim := store.RelayClaim{KeyHash: c.keyHash, Fingerprint: c.fingerprint, Route: c.route.Name, Method: c.method,
		Path: c.rest + query(c.query), Owner: rl.owner, Family: c.family, Lease: rl.cfg.Lease, Window: rl.cfg.Window,
		Rerun: c.method == http.MethodGet || c.method == http.MethodHead, Unknown: failure(registry.EUpstreamOutcomeUnknown, c.route, 0, 0),
		RefusalHold: refusalHold}
	if !ok {
		tooMany := errorReply(http.StatusTooManyRequests, errorf(registry.ETOOMANY, "too many calls for this key and route; retry later"))
		claim.Refusal = &store.RelayResult{Result: registry.ETOOMANY, Reply: tooMany}
	}
	for {
		claim.Now = rl.cfg.Now()
		d, err := rl.cfg.Store.ClaimRelayCall(ctx, claim)
		if err != nil {
			resv.Cancel(now)
			rl.cfg.Logger.Error("relay call not decided", append(c.describe(), "err", err)...)
			return unavailable()
		}
		if !d.Claimed || claim.Refusal != nil {
			resv.Cancel(now)
		}
		switch {
		case d.Claimed && claim.Refusal != nil:
			rl.m.calls.WithLabelValues(c.route.Name, registry.ETOOMANY).Inc()
			return rl.remember(&d.Call, d.ExpiresAt)
		case d.Execute:
			return rl.execute(ctx, c, t, &d)
		case d.Call.State == registry.RelayDone:
			rl.m.copies.WithLabelValues("stored").Inc()
			return rl.remember(&d.Call, d.ExpiresAt)
		}
		if !claim.Recheck {
			rl.m.waits.WithLabelValues("remote").Inc()
			rl.m.copies.WithLabelValues("waited_remote").Inc()
		}
		if done, ok := rl.wait(ctx, d.Call.ID); ok {
			until := d.ExpiresAt
			if claimOfGet(c) { // its owner shortened the claim to get_ttl when it finished
				if end := done.FinishedAt.Add(max(c.route.GetTTL, time.Millisecond)); end.Before(until) {
					until = end
				}
			}
			return rl.remember(&done, until)
		}
		if ctx.Err() != nil {
			return unavailable()
		}
		claim.Recheck = true // the owner's lease expired: decide again (re-run, or outcome unknown)
	}
}

func query(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// unavailable is the one reply of a copy the server could not decide (the database down): no
// call was stored for it, so nothing is remembered either.
func unavailable() outcome {
	return outcome{reply: errorReply(http.StatusServiceUnavailable,
		errorf(registry.EUNAVAILABLE, "the relay call could not be decided right now; retry later"))}
}

// remember is the outcome of a done call, remembered in memory until its claim ends.
func (rl *Relay) remember(call *registry.RelayCall, until time.Time) outcome {
	return outcome{reply: call.Reply, id: call.ID, fingerprint: call.Fingerprint, until: until}
}

// execute calls the upstream for the claimed call d, renewing its lease meanwhile, and stores
// the result; every copy gets what was stored (another copy's decision if this process lost
// the lease meanwhile).
func (rl *Relay) execute(ctx context.Context, c *call, t *table, d *store.RelayDecision) outcome {
	client := t.clients[c.route.Name]
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() { defer close(renewed); rl.renew(renewCtx, d.Call.ID) }()
	res := callUpstream(client, c)
	stopRenew()
	<-renewed
	rl.m.calls.WithLabelValues(c.route.Name, res.Result).Inc()
	rl.m.upstream.WithLabelValues(c.route.Name).Observe(res.Duration.Seconds())
	rl.m.copies.WithLabelValues("executed").Inc()
	if res.Result != registry.RelayOK {
		rl.cfg.Logger.Warn("relay upstream call failed", append(c.describe(), "result", res.Result)...)
	}
	now := rl.cfg.Now()
	until, keep := d.ExpiresAt, time.Duration(0)
	if claimOfGet(c) {
		keep = max(c.route.GetTTL, time.Millisecond)
		until = now.Add(keep)
	}
	stored, err := rl.cfg.Store.FinishRelayCall(ctx, d.Call.ID, rl.owner, res, now, keep)
	if err != nil {
		rl.cfg.Logger.Error("relay call's reply not stored", append(c.describe(), "err", err)...)
		return unavailable()
	}
	if stored.Result != res.Result || stored.Attempts != d.Call.Attempts {
		until = d.ExpiresAt // another copy decided the call meanwhile
	}
	return rl.remember(&stored, until)
}

// claimOfGet reports a call whose reply is shared for the route's get_ttl only: a GET or HEAD
// without Idempotency-Key.
func claimOfGet(c *call) bool {
	return !c.idempotent && (c.method == http.MethodGet || c.method == http.MethodHead)
}

// renew extends the lease of the running call id every third of a lease until ctx ends.
func (rl *Relay) renew(ctx context.Context, id int64) {
	every := rl.cfg.Lease / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			ok, err := rl.cfg.Store.RenewRelayLease(ctx, id, rl.owner, rl.cfg.Now().Add(rl.cfg.Lease))
			if err != nil && ctx.Err() == nil {
				rl.cfg.Logger.Warn("renew relay lease", "call", id, "err", err)
			}
			if err == nil && !ok {
				return // lost: the finish will find the call decided by another copy
			}
		}
	}
}

// wait polls the running call id of another process until it is done (true) or its lease
// has expired (false: decide again).
func (rl *Relay) wait(ctx context.Context, id int64) (registry.RelayCall, bool) {
	delay := 5 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return registry.RelayCall{}, false
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
		c, err := rl.cfg.Store.RelayCall(ctx, id)
		if err != nil {
			continue
		}
		if c.State == registry.RelayDone {
			return c, true
		}
		if !rl.cfg.Now().Before(c.LeaseUntil) {
			return c, false
		}
	}
}
