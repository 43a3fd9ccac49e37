package ic_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"

	"github.com/fxamacker/cbor/v2"
)

// TestClient_MalformedAnswers points the client at an endpoint that answers with CBOR on which
// agent-go panics (a query status it does not know, a hash tree that is an empty array): the
// client must return unavailable, not crash the process.
func TestClient_MalformedAnswers(t *testing.T) {
	var status atomic.Pointer[string]
	rootKey := ictest.NewServer(t).RootKey() // a well-formed root key; nothing gets as far as using it
	write := func(w http.ResponseWriter, v any) {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/cbor")
		_, _ = w.Write(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/status", func(w http.ResponseWriter, _ *http.Request) {
		write(w, map[string]any{"root_key": rootKey})
	})
	mux.HandleFunc("POST /api/v2/canister/{id}/query", func(w http.ResponseWriter, _ *http.Request) {
		write(w, map[string]any{"status": *status.Load(), "reply": map[string]any{"arg": []byte("DIDL\x00\x00")},
			"signatures": []map[string]any{{"timestamp": uint64(1), "signature": []byte{0}, "identity": []byte{1}}}})
	})
	mux.HandleFunc("POST /api/v3/canister/{id}/read_state", func(w http.ResponseWriter, _ *http.Request) {
		tree, err := cbor.Marshal(map[string]any{"tree": []any{}, "signature": []byte{0}})
		if err != nil {
			t.Error(err)
		}
		write(w, map[string]any{"certificate": tree})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	client := func(verify bool) *ic.Client {
		c, err := ic.New(t.Context(), ic.Config{URL: srv.URL, FetchRootKey: true, VerifyQuerySignatures: verify})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	id := canisterID(1)
	for _, tc := range []struct {
		name, status string
		verify       bool
		contains     string
	}{
		{"UnknownStatusUnverified", "bogus", false, "malformed answer"},
		{"UnknownStatusVerified", "bogus", true, "unknown status"},
		{"MalformedNodeKeyCertificate", "replied", true, "malformed certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(&tc.status)
			_, err := balance(t, client(tc.verify), id)
			wantRefused(t, err, tc.contains)
		})
	}
	t.Run("MalformedCanisterCertificate", func(t *testing.T) {
		_, err := client(true).Canister(t.Context(), regID(id))
		wantRefused(t, err, "malformed certificate")
	})
}
