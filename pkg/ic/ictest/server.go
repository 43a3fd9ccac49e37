// Package ictest is a replica double: an HTTP server that speaks the Internet Computer's HTTP
// interface as agent-go v0.9.2 and DFINITY's JavaScript agents (@dfinity/agent 3.x,
// @icp-sdk/core 6.x) use it — /api/v2/status, signed queries on /api/v2 and /api/v3, certified
// read_state on /api/v2 (legacy canister ranges in the delegation) and /api/v3 (sharded),
// synchronous update calls on /api/v3 (legacy) and /api/v4 (sharded) — backed by
// programmable canisters. Tests point the real agent-go client at it, so CBOR, Candid, request
// ids, node signatures, BLS certificates and the subnet delegation are all exercised for real.
//
// The simulated IC has a random root key (clients must fetch it: FetchRootKey) and one
// application subnet whose certificates carry a delegation from the root, so signed-query
// verification works exactly as on mainnet (Options.RootSubnet makes it the root subnet
// instead, signing with the root key itself, as mainnet's NNS subnet does). Update calls run the
// canister's (read-only) methods; the asynchronous /api/v2 call is not served.
package ictest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"
)

// Options configure a Server.
type Options struct {
	// Addr is the listen address; "" means 127.0.0.1:0 (a random port).
	Addr string
	// Logger receives one line per rejected HTTP request; nil discards.
	Logger *slog.Logger
	// Now is the clock for certified /time, expiry checks and signature timestamps; nil means
	// time.Now.
	Now func() time.Time
	// CanisterRanges are the [from, to] canister id ranges the root delegates to the subnet;
	// nil means every principal. A canister outside them exists, but certificates for it fail
	// agent-go's range check, as they would for a canister on another subnet.
	CanisterRanges [][2]principal.Principal
	// RootSubnet makes the subnet the root subnet: certificates are signed by the root key
	// without delegation and the subnet id is mainnet's root subnet id (agent-go's assumption
	// for such certificates), as for canisters on mainnet's NNS subnet. CanisterRanges is
	// then ignored: a root-signed certificate certifies no ranges.
	RootSubnet bool
	// NoInstallTimes serves a replica older than interface spec 0.66.0: a read_state that asks
	// for /canister/<id>/canister_creation_timestamp or last_install_timestamp is refused with
	// 404 "Invalid path requested.", as such a replica refuses every path it does not know.
	// SetInstallTimesCertified changes it later.
	NoInstallTimes bool
}

// Server is a running replica double. All methods are safe for concurrent use.
type Server struct {
	subnet *subnet
	logger *slog.Logger
	now    func() time.Time
	ln     net.Listener
	http   *http.Server
	done   chan struct{} // closed by Close; releases stalled requests
	once   sync.Once
	stats  stats

	mu        sync.RWMutex
	canisters map[string]*Canister // by raw principal bytes
	latency   time.Duration
	fault     Fault
	// noInstallTimes leaves the 0.66.0 install paths out of certificates.
	noInstallTimes bool

	nextNode atomic.Uint64 // round-robin signer; atomic, not under mu, which every request reads

	snsOnce sync.Once // installs snsW (sns.go) on first use
	snsW    *SNSW
}

// NewServer starts a double on a random loopback port and closes it when tb's test ends. It
// fails the test if the server cannot start.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("start replica double: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start listens on opts.Addr and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sn, err := newSubnet(opts.Now(), opts.CanisterRanges, opts.RootSubnet)
	if err != nil {
		return nil, fmt.Errorf("replica double keys: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("replica double listen: %w", err)
	}
	s := &Server{
		subnet:    sn,
		logger:    opts.Logger,
		now:       opts.Now,
		ln:        ln,
		done:      make(chan struct{}),
		canisters: make(map[string]*Canister),

		noInstallTimes: opts.NoInstallTimes,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/status", s.handleStatus)
	mux.HandleFunc("POST /api/v2/canister/{id}/query", s.handleQuery)
	mux.HandleFunc("POST /api/v3/canister/{id}/query", s.handleQuery)
	mux.HandleFunc("POST /api/v2/canister/{id}/read_state", s.handleReadState)
	mux.HandleFunc("POST /api/v3/canister/{id}/read_state", s.handleReadState)
	mux.HandleFunc("POST /api/v3/canister/{id}/call", s.handleCall)
	mux.HandleFunc("POST /api/v4/canister/{id}/call", s.handleCall)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// URL is the base URL to give agent-go, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// RootKey is the DER-encoded BLS root key that /api/v2/status serves.
func (s *Server) RootKey() []byte { return s.subnet.rootDER }

// SubnetID is the id of the simulated application subnet that hosts every canister.
func (s *Server) SubnetID() principal.Principal { return s.subnet.id }

// Close stops the server at once: it releases stalled and delayed requests and closes every
// connection (a graceful Shutdown would wait seconds for connections the client dialled but
// never used). It is safe to call twice.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		_ = s.http.Close()
	})
}

// AddCanister installs a canister with the given module hash (nil: an empty canister) and
// controllers, replacing any canister with that id. Program it with Handle or Install.
func (s *Server) AddCanister(id principal.Principal, moduleHash []byte, controllers ...principal.Principal) *Canister {
	now := s.now()
	c := &Canister{id: id, moduleHash: moduleHash, controllers: controllers, methods: make(map[string]Handler),
		now: s.now, createdAt: now}
	if moduleHash != nil {
		c.installedAt = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.canisters[string(id.Raw)] = c
	return c
}

// Canister returns the installed canister with that id, or nil.
func (s *Server) Canister(id principal.Principal) *Canister {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.canisters[string(id.Raw)]
}

// RemoveCanister deletes a canister; later requests get "canister not found" (IC0301).
func (s *Server) RemoveCanister(id principal.Principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.canisters, string(id.Raw))
}

// SetLatency adds d to every HTTP request to a canister endpoint (query and read_state), for
// all canisters. Waiting is a timer per request, so thousands of concurrent delayed requests
// are cheap.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetInstallTimesCertified says whether read_state certifies the install paths of interface
// spec 0.66.0 (true, the default) or serves a replica that predates them.
func (s *Server) SetInstallTimesCertified(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noInstallTimes = !on
}

func (s *Server) installTimesCertified() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.noInstallTimes
}

// SetFault applies f to every canister (FaultNone heals); a canister's own fault wins.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// lookup finds the canister addressed by the URL and the fault and latency that apply.
func (s *Server) lookup(id principal.Principal) (*Canister, Fault, time.Duration) {
	s.mu.RLock()
	c, fault, latency := s.canisters[string(id.Raw)], s.fault, s.latency
	s.mu.RUnlock()
	if c != nil {
		f, l := c.behaviour()
		if f != FaultNone {
			fault = f
		}
		latency += l
	}
	return c, fault, latency
}

// delay waits for latency and applies stall and HTTP faults. It reports false when the
// request must end now (the response, if any, has been written).
func (s *Server) delay(w http.ResponseWriter, r *http.Request, fault Fault, latency time.Duration) bool {
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		}
	}
	switch fault {
	case FaultStall:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return false
	case FaultHTTP503:
		http.Error(w, "no healthy replica for the subnet", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// pathID parses the {id} of a canister endpoint.
func pathID(r *http.Request) (principal.Principal, error) {
	id := r.PathValue("id")
	p, err := principal.Decode(id)
	if err != nil {
		return principal.Principal{}, fmt.Errorf("invalid effective canister id %q: %w", id, err)
	}
	return p, nil
}

// badRequest answers 400 with a text body, as the replica does for malformed or badly signed
// requests.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Info("ictest: bad request", "path", r.URL.Path, "error", err)
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (s *Server) nextSigner() node {
	return s.subnet.nodes[s.nextNode.Add(1)%uint64(len(s.subnet.nodes))]
}

// writeCBOR writes a self-described CBOR body.
func writeCBOR(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/cbor")
	_, _ = w.Write(append(append([]byte{}, selfDescribed...), body...))
}
