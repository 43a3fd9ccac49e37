package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"canistry/pkg/registry"
	"canistry/pkg/store/pgtest"
)

// TestPostgres_ClaimPipeWarm: PrepareClaims (the intake's start) prepares the claim pipeline's statements on the writer
// connection and plans the claim statement there (its generic plan), so that no batch after it
// parses or plans it: PostgreSQL's own count of the statement's plans shows none custom-made
// (by default the first five executions each plan it again).
func TestPostgres_ClaimPipeWarm(t *testing.T) {
	s, err := Open(t.Context(), pgtest.New(t).Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.PrepareClaims(t.Context())
	plans := func() (generic, custom int64) {
		t.Helper()
		err := s.onWriterPgx(t.Context(), func(c *pgx.Conn) error {
			return c.QueryRow(t.Context(), "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
				pgx.QueryExecModeSimpleProtocol, claimPipeSQL).Scan(&generic, &custom)
		})
		if err != nil {
			t.Fatalf("the claim statement on the writer connection: %v", err)
		}
		return generic, custom
	}
	if g, c := plans(); g != 1 || c != 0 {
		t.Errorf("after PrepareClaims: %d generic and %d custom plans, want the warm-up's one generic", g, c)
	}
	for i := range 8 {
		var ns []*registry.Notification
		for k := range 1 + 3*i {
			ns = append(ns, &registry.Notification{DedupKey: fmt.Sprintf("k%d-%d", i, k), MinerID: "m", Event: registry.EventSolutionFound,
				Data: []byte(`{}`), BodyHash: "h", ReceivedAt: time.Now(), ResponseStatus: 200, ResponseBody: []byte("{}")})
		}
		out, err := s.ClaimNotifications(t.Context(), ns, time.Minute)
		if err != nil || !out[0].Claimed {
			t.Fatalf("batch %d: %+v, %v", i, out, err)
		}
	}
	if g, c := plans(); g != 9 || c != 0 {
		t.Errorf("after 8 batches: %d generic and %d custom plans, want 9 generic", g, c)
	}
}
