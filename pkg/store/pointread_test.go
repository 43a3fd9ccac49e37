package store_test

import (
	"math"
	"testing"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// TestPostgres_PointReadRoundTrips: on PostgreSQL each point read behind the api's GET
// /tokens/{id}, /miners/{id} and /canisters/{id}, found or not, is one round trip once its
// statement is prepared on the connection: no transaction around it, no SET, no describe per
// read (issue 26). Each read is counted three times and the fewest kept, since database/sql
// pings a connection that sat idle for over a second (not counted either way: the ping is
// "-- ping").
func TestPostgres_PointReadRoundTrips(t *testing.T) {
	postgresServer(t)
	var trips tripCounter
	s := openStore(t, backend{name: "postgres"}.DB(t), store.WithReaderConn(trips.wrap))
	ctx := t.Context()
	mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken, Name: "token"})
	mustCreate(t, s, registry.Canister{ID: testIDs[1], Kind: registry.KindMiner, Name: "miner"})
	if _, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: testIDs[0], Name: "Token", Symbol: "TOK"}); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.SaveMiner(ctx, s, registry.MinerInfo{CanisterID: testIDs[1], CurrentToken: string(testIDs[0])}); err != nil {
		t.Fatal(err)
	}
	notFound := func(err error) error {
		if registry.ErrorCode(err) == registry.ENOTFOUND {
			return nil
		}
		return err
	}
	for _, r := range []struct {
		name string
		read func() error
	}{
		{"token", func() error { _, err := s.GetToken(ctx, testIDs[0]); return err }},
		{"no token", func() error { _, err := s.GetToken(ctx, testIDs[2]); return notFound(err) }},
		{"miner", func() error { _, err := s.GetMiner(ctx, testIDs[1]); return err }},
		{"canister with badges", func() error { _, _, err := s.GetCanisterBadges(ctx, testIDs[0]); return err }},
		{"no canister", func() error { _, _, err := s.GetCanisterBadges(ctx, testIDs[2]); return notFound(err) }},
	} {
		if err := r.read(); err != nil { // prepares the statement on the connection
			t.Fatalf("%s: %v", r.name, err)
		}
		fewest := int64(math.MaxInt64)
		for range 3 {
			trips.n.Store(0)
			if err := r.read(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			fewest = min(fewest, trips.n.Load())
		}
		if fewest != 1 {
			t.Errorf("%s: %d round trips, want 1", r.name, fewest)
		}
	}
}
