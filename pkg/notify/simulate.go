package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// simulatedCopies is how many replica copies each simulated outcall is sent as: an
// application subnet's 13.
const simulatedCopies = 13

// simPrincipal returns the principal text of a made-up canister (opaque id bytes), so that
// simulated outcalls never name a real canister.
func simPrincipal(name string) string { return principal.Principal{Raw: []byte(name)}.Encode() }

// simulation is what POST /test/simulate answers.
type simulation struct {
	Event     string `json:"event"`
	Copies    int    `json:"copies"`
	Status    int    `json:"status"`
	Identical bool   `json:"identical"`
	ID        int64  `json:"id"`
	Response  string `json:"response"`
}

// simulate sends a made-up outcall of the asked event (token_connected, mining_started,
// solution_found, or unknown) as 13 concurrent replica copies through the real intake handler,
// in-process, with the configured key: parsing, dedup, storage and fan-out are the production
// path. Mounted only with LOCAL_DEV=true.
func simulate(intake http.Handler, key string, st *store.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key == "" {
			httperror.Reply(w, r, logger, registry.Errorf(registry.EUNAVAILABLE, "set NOTIFY_API_KEYS to simulate outcalls"))
			return
		}
		event, data, err := simulatedData(r.URL.Query().Get("event"))
		if err != nil {
			httperror.Reply(w, r, logger, err)
			return
		}
		miner := simPrincipal(fmt.Sprintf("canistry-demo-miner-%d", rand.N(3)+1))
		ts := uint64(now().UnixNano())
		body, err := json.Marshal(map[string]any{"event": event, "miner_id": miner, "timestamp": ts, "data": data})
		if err != nil {
			httperror.Reply(w, r, logger, err)
			return
		}
		replies := make([]*recorder, simulatedCopies)
		var wg sync.WaitGroup
		for i := range replies {
			replies[i] = &recorder{header: http.Header{}}
			wg.Go(func() { intake.ServeHTTP(replies[i], simulatedRequest(r.Context(), key, body)) })
		}
		wg.Wait()
		out := simulation{Event: event, Copies: simulatedCopies, Status: replies[0].status, Identical: true,
			Response: replies[0].body.String()}
		for _, rep := range replies[1:] {
			out.Identical = out.Identical && rep.status == out.Status && bytes.Equal(rep.body.Bytes(), replies[0].body.Bytes())
		}
		if n, err := st.NotificationByKey(r.Context(), fmt.Sprintf("%s:%d:%s", miner, ts, event)); err == nil {
			out.ID = n.ID
		}
		writeJSON(w, out)
	})
}

func simulatedData(kind string) (string, map[string]any, error) {
	token := simPrincipal(fmt.Sprintf("canistry-demo-token-%d", rand.N(2)+1))
	switch kind {
	case registry.EventTokenConnected:
		return kind, map[string]any{"token_id": token, "chunk_size": 1_000_000}, nil
	case registry.EventMiningStarted:
		return kind, map[string]any{"token_id": token}, nil
	case registry.EventSolutionFound:
		return kind, map[string]any{"token_id": token, "ticker": "DEMO", "block_height": 1000 + rand.N(9000),
			"nonce": rand.Uint64() >> 12, "hash": fmt.Sprintf("000000%058x", rand.Uint64()),
			"difficulty": 1 << 24, "reward": 50_0000_0000, "decimals": 8}, nil
	case "unknown":
		return "hashrate_report", map[string]any{"token_id": token, "hashes_per_second": rand.N(5_000_000)}, nil
	}
	return "", nil, registry.Errorf(registry.EINVALID, "event must be token_connected, mining_started, solution_found or unknown")
}

func simulatedRequest(ctx context.Context, key string, body []byte) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/miner-notifications", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-API-Key", key)
	r.Header.Set("User-Agent", "ic/1.0")
	r.RemoteAddr = "127.0.0.1:0"
	return r
}

// recorder is an in-memory http.ResponseWriter for the simulated copies.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
