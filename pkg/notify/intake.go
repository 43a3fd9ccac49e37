// Package notify is the outcall intake: POST /miner-notifications, called by every replica of a
// canister's subnet (13 or ~34 copies of each request).
//
// Exactly once. The effect of a notification (its row, its event on the bus, the refresh
// triggers) happens once per dedup key: the key's claim row in SQLite decides, inside one
// IMMEDIATE transaction (store.ClaimNotification), so copies handled concurrently, after a
// restart, or by another notifier process on the same database all agree. Memory only saves
// work: singleflight coalesces the copies that arrive together in one process, and a cache
// answers later copies of a key until its window ends.
//
// Identical replies. Every copy gets the same bytes, because the replicas reach consensus on the
// raw response: the reply is a function of the dedup key alone, computed before the claim and
// stored with it, and written with exactly two headers (Content-Type, Content-Length; no Date).
// Rejections are deterministic functions of the request. A copy is never answered 409.
//
// The notifier's whole HTTP surface is here too, on net/http (routes.go: NewHandler), with the
// LOCAL_DEV simulation (simulate.go) and the /test page (testpage.go).
package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"canistry/pkg/config"
	"canistry/pkg/httperror"
	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// defaultDecideTimeout bounds the database work for one dedup key. It does not depend on the
// copy that happens to lead: the copies waiting for it must not fail because that one hung up.
const defaultDecideTimeout = 15 * time.Second

// refusalHold is how long a rate-limit refusal of a dedup key stands: the outcall window
// (config.OutcallWindow, derived from the IC's outcall deadline and adapter timeout). Replicas
// send their copies of one outcall within that time of its start; for this long, every copy of
// a refused key gets the same 429, in any notifier process, even after tokens refill. A later
// retry of the key (the canister's own retry, after the hold) is decided anew.
const refusalHold = config.OutcallWindow

// Config configures New.
type Config struct {
	Store *store.Store
	// Keys are the accepted X-API-Key values (NOTIFY_API_KEYS). With none, every request is
	// answered 401.
	Keys []string
	// Window is how long a dedup key is remembered (DEDUP_WINDOW).
	Window time.Duration
	// Publish announces a claimed notification's event, already in the event log, after its
	// commit (bus.Conn.PublishEvent): the doorbell of every notifier's hub.
	Publish func(registry.Event) error
	// Refresh asks the poller to refresh a canister (bus.Conn.RequestRefresh).
	Refresh func(registry.CanisterID) error
	Logger  *slog.Logger
	// Metrics, when set, receives the intake's Prometheus metrics.
	Metrics prometheus.Registerer
	// Limits are the rate limits; the zero value means DefaultLimits.
	Limits Limits
	// Now is the clock of dedup windows and rate limits; nil means time.Now.
	Now func() time.Time
	// Retention is how long notifications are kept as the event log (NOTIFICATIONS_RETENTION);
	// older ones are deleted by the minute sweep. 0 keeps them forever.
	Retention time.Duration
	// FlushInterval is how often copy counts answered from memory are written; 0 means 200ms.
	FlushInterval time.Duration
	// TrustedProxies are the TCP peers whose X-Forwarded-For names a copy's source address
	// (TRUSTED_PROXIES); nil means loopback, where the api's proxy connects from.
	TrustedProxies []netip.Prefix
	// DecideTimeout bounds the database work for one dedup key (a claim's wait in the queue,
	// and one write); 0 means 15s. Tests shorten it.
	DecideTimeout time.Duration
}

// Intake is the http.Handler of POST /miner-notifications. Close it to stop its background
// work and write the last copy counts.
type Intake struct {
	store   *store.Store
	keys    httpserver.APIKeys
	window  time.Duration
	keep    time.Duration // notifications retention; 0 = forever
	publish func(registry.Event) error
	refresh func(registry.CanisterID) error
	logger  *slog.Logger
	now     func() time.Time
	limits  *limiters
	cache   *cache
	copies  *copyCounter
	flushMu sync.Mutex // one flush at a time (Flush)
	flight  singleflight.Group
	m       *metrics

	decideTimeout time.Duration
	proxies       []netip.Prefix
	claims        chan *claimReq
	claimsDone    chan struct{}
	stop          context.CancelFunc
	done          chan struct{}
	closeOnce     sync.Once
}

// New returns a running intake.
func New(cfg Config) (*Intake, error) {
	if cfg.Store == nil || cfg.Publish == nil || cfg.Refresh == nil || cfg.Logger == nil {
		return nil, errors.New("notify: Store, Publish, Refresh and Logger are required")
	}
	if cfg.Window <= 0 {
		return nil, fmt.Errorf("notify: dedup window %s must be positive", cfg.Window)
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.DecideTimeout <= 0 {
		cfg.DecideTimeout = defaultDecideTimeout
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	in := &Intake{store: cfg.Store, window: cfg.Window, keep: cfg.Retention, publish: cfg.Publish, refresh: cfg.Refresh,
		logger: cfg.Logger.With("component", "intake"), now: cfg.Now,
		limits: newLimiters(cfg.Limits, len(cfg.Keys)), cache: newCache(), copies: newCopyCounter(),
		m: m, decideTimeout: cfg.DecideTimeout, proxies: cfg.TrustedProxies, claims: make(chan *claimReq, 1024), claimsDone: make(chan struct{}), done: make(chan struct{})}
	in.keys = httpserver.NewAPIKeys(cfg.Keys)
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	go in.background(ctx, cfg.FlushInterval)
	go in.claimLoop(ctx)
	return in, nil
}

// ServeHTTP answers one copy of an outcall.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.handle(w, r).write(w)
}

func (in *Intake) handle(w http.ResponseWriter, r *http.Request) response {
	if r.Method != http.MethodPost {
		resp := in.reject(httperror.MethodError(r.Method, http.MethodPost))
		resp.status, resp.allow = http.StatusMethodNotAllowed, true
		return resp
	}
	if err := httpserver.NoQuery(r); err != nil { // writes take no query parameters (api alike)
		return in.reject(err)
	}
	keyIdx, ok := in.authenticate(r.Header.Values("X-API-Key"))
	if !ok {
		return in.reject(registry.Errorf(registry.EUNAUTHORIZED, "missing or unknown X-API-Key"))
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return in.reject(registry.Errorf(registry.EUNSUPPORTED, "Content-Type must be application/json"))
	}
	body, err := readBody(w, r)
	if err != nil {
		return in.reject(err)
	}
	n, err := ParseNotification(body)
	if err != nil {
		return in.reject(err)
	}
	key, err := DedupKey(r.Header.Get("Idempotency-Key"), &n)
	if err != nil {
		return in.reject(err)
	}
	sum := sha256.Sum256(body)
	cp := store.CopyRecord{Source: httpserver.ClientAddr(r, in.proxies), At: in.now(), BodyHash: hex.EncodeToString(sum[:])}
	return in.accept(r.Context(), keyIdx, &n, key, cp)
}

// isJSON reports whether the media type of ct is application/json. The plain value, which is
// what callers send, is decided without parsing (mime.ParseMediaType allocates a parameter map).
func isJSON(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := registry.Errorf(registry.ETOOLARGE, "body is larger than %d bytes", MaxBodyBytes)
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, registry.WrapError(registry.EINVALID, "could not read the request body", err)
	}
	return buf.Bytes(), nil
}

// authenticate finds the one X-API-Key value among the configured keys (constant time).
func (in *Intake) authenticate(values []string) (int, bool) { return in.keys.Match(values) }

// reject returns the deterministic error response for err; internal errors are logged here.
func (in *Intake) reject(err error) response {
	if code := registry.ErrorCode(err); code == registry.EINTERNAL || code == registry.EUNAVAILABLE {
		in.logger.Error("notification failed", "err", err)
	}
	return in.errorResponse(err)
}

// errorResponse is reject without the log, for the copies that shared a failure already logged.
// A failure of the server itself (the database unreachable or timing out, a bug) is answered
// with one fixed reply, whatever its cause: copies of one outcall that fail in different ways
// (or in different notifiers, or at the load balancer, see UnavailableReply) still get the
// same bytes.
func (in *Intake) errorResponse(err error) response {
	code := registry.ErrorCode(err)
	in.m.rejected.WithLabelValues(code).Inc()
	if code == registry.EINTERNAL || code == registry.EUNAVAILABLE {
		status, body := UnavailableReply()
		return response{status: status, body: body}
	}
	return response{status: httperror.Status(err), body: httperror.Encode(err)}
}

// outcome is the result of deciding a dedup key, shared by the copies coalesced with it.
type outcome struct {
	resp  response
	entry *entry // nil when the decision failed
}

// accept answers a valid copy (cp: where from, when, its body's hash): from the cache, or by
// deciding the key once for all the copies in flight in this process.
func (in *Intake) accept(ctx context.Context, keyIdx int, n *Notification, key string, cp store.CopyRecord) response {
	if e, ok := in.cache.get(key, cp.At); ok {
		in.countCopy(e, key, cp)
		in.m.replayedMem.Inc()
		return e.resp
	}
	leader := false
	v, err, _ := in.flight.Do(key, func() (any, error) {
		leader = true
		return in.decide(ctx, keyIdx, n, key, cp)
	})
	if err != nil && leader {
		return in.reject(err)
	}
	if err != nil {
		return in.errorResponse(err)
	}
	out := v.(outcome)
	if !leader && out.entry != nil {
		in.countCopy(out.entry, key, cp)
		in.m.replayedMem.Inc()
	}
	return out.resp
}

// decide claims key in the database, or finds its claim. Only a copy that would create a new
// notification spends a rate-limit token, and it is refunded when the key was claimed already.
func (in *Intake) decide(ctx context.Context, keyIdx int, n *Notification, key string, cp store.CopyRecord) (outcome, error) {
	hash, now := cp.BodyHash, cp.At
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.decideTimeout)
	defer cancel()
	resv, ok := in.limits.reserve(keyIdx, string(n.MinerID), now)
	if !ok {
		// Over the limit: a copy of a stored key still gets its reply; a new key is refused, and
		// the refusal is stored so that every later copy of the key gets the same 429.
		cl, err := in.store.RefuseNotification(ctx, key, hash, cp.Source, in.tooMany(), now, refusalHold)
		if err != nil {
			return outcome{}, err
		}
		return in.decided(key, hash, cl, now), nil
	}
	rec := &registry.Notification{DedupKey: key, MinerID: string(n.MinerID), Event: n.Event,
		ICTimestamp: n.Timestamp, Data: n.Data, BodyHash: hash, ReceivedAt: now, Source: cp.Source,
		ResponseStatus: http.StatusOK, ResponseBody: acceptedBody(key)}
	cl, err := in.claim(ctx, rec)
	if err != nil {
		resv.cancel(now)
		return outcome{}, err
	}
	if !cl.Claimed {
		resv.cancel(now)
	}
	return in.decided(key, hash, cl, now), nil
}

// tooMany is the stored reply of a rate-limited key.
func (in *Intake) tooMany() store.Refusal {
	err := registry.Errorf(registry.ETOOMANY, "too many notifications for this key or miner; retry later")
	return store.Refusal{Status: httperror.Status(err), Body: httperror.Encode(err)}
}

// decided turns the database's decision for key into the outcome every coalesced copy shares,
// and caches it for the later copies.
func (in *Intake) decided(key, hash string, cl store.NotificationClaim, now time.Time) outcome {
	switch {
	case cl.Refused:
		in.m.limited.Inc()
		in.m.rejected.WithLabelValues(registry.ETOOMANY).Inc()
	case !cl.Claimed:
		in.m.replayedDB.Inc()
	}
	return outcome{resp: stored(&cl), entry: in.remember(key, hash, cl, now)}
}

// remember caches the decision of key. A copy decided in the database (counted there) whose
// body differs from the first is a divergence, logged here, once per key.
func (in *Intake) remember(key, hash string, cl store.NotificationClaim, now time.Time) *entry {
	e := in.cache.put(key, cl, now)
	if !e.refused && hash != e.bodyHash {
		in.diverged(e, key)
	}
	return e
}

func stored(cl *store.NotificationClaim) response {
	return response{status: cl.Notification.ResponseStatus, body: cl.Notification.ResponseBody}
}

// effect announces a just-claimed notification (after its commit): its logged event on the
// bus, which only rings the hubs' doorbell (they read the event log itself), and for
// token_connected and solution_found a refresh of the token and the miner. A failure here
// loses no data: the event is in the log, which the hubs also poll.
func (in *Intake) effect(cl *store.NotificationClaim) {
	n := &cl.Notification
	in.logger.Debug("notification claimed", "id", n.ID, "event", n.Event, "miner", n.MinerID, "event_id", cl.Event.ID)
	if err := in.publish(cl.Event); err != nil {
		in.m.pubErrors.Inc()
		in.logger.Error("publish notification event", "id", n.ID, "err", err)
	} else {
		in.m.published.Inc()
	}
	if n.Event != registry.EventTokenConnected && n.Event != registry.EventSolutionFound {
		return
	}
	ids := []registry.CanisterID{registry.CanisterID(n.MinerID)}
	if tok, ok := tokenID(n.Data); ok {
		ids = append([]registry.CanisterID{tok}, ids...)
	}
	for _, id := range ids {
		if err := in.refresh(id); err != nil {
			in.m.pubErrors.Inc()
			in.logger.Error("request refresh", "canister", id, "err", err)
		}
	}
}

// countCopy records a copy answered from memory; it is written by the next flush. Copies of a
// refused key have no notification to count on.
func (in *Intake) countCopy(e *entry, key string, cp store.CopyRecord) {
	if e.refused {
		in.m.rejected.WithLabelValues(registry.ETOOMANY).Inc()
		return
	}
	diverged := cp.BodyHash != e.bodyHash
	in.copies.add(store.NotificationCopies{ID: e.id, Copies: 1, Diverged: diverged, Records: []store.CopyRecord{cp}})
	if diverged {
		in.diverged(e, key)
	}
}

// diverged counts a copy whose body differs from its key's first copy, and logs it once per key.
func (in *Intake) diverged(e *entry, key string) {
	in.m.diverged.Inc()
	if e.warned.CompareAndSwap(false, true) {
		in.logger.Warn("replica copies diverged: a copy's body differs from the first", "id", e.id, "dedup_key", key)
	}
}
