package store_test

import (
	"testing"
	"time"

	"canistry/pkg/registry"
)

func TestStore_Cycles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		id := registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai")
		if _, err := s.CreateCanister(ctx, registry.Canister{ID: id, Kind: registry.KindOther}); err != nil {
			t.Fatal(err)
		}
		t0 := time.UnixMilli(1_700_000_000_000).UTC()
		for i := range 5 {
			st := registry.CyclesPoint{CanisterID: id, ObservedAt: t0.Add(time.Duration(i) * time.Hour), Status: "running",
				Cycles: "340282366920938463463374607431768211456", MemorySize: "42", IdleCyclesPerDay: "7"}
			if err := s.AddCycles(ctx, st, t0.Add(time.Duration(i-2)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		all := registry.StatsRange{From: t0, To: t0.Add(10 * time.Hour)}
		page, err := s.CyclesRange(ctx, id, all)
		if err != nil {
			t.Fatal(err)
		}
		// The last write kept what was observed from 2 h before it: hours 2, 3 and 4.
		if len(page.Items) != 3 || !page.Items[0].ObservedAt.Equal(t0.Add(2*time.Hour)) || page.Items[2].Cycles != "340282366920938463463374607431768211456" ||
			page.Items[1].IdleCyclesPerDay != "7" || page.Next != nil {
			t.Fatalf("series %+v next %v", page.Items, page.Next)
		}
		all.Page.Limit = 2
		first, err := s.CyclesRange(ctx, id, all)
		if err != nil || len(first.Items) != 2 || first.Next == nil {
			t.Fatalf("first page %+v %v", first, err)
		}
		all.Page.After, all.Page.AfterTie = first.Next.Key, first.Next.Tie
		second, err := s.CyclesRange(ctx, id, all)
		if err != nil || len(second.Items) != 1 || !second.Items[0].ObservedAt.Equal(t0.Add(4*time.Hour)) {
			t.Fatalf("second page %+v %v", second, err)
		}
		err = s.AddCycles(ctx, registry.CyclesPoint{CanisterID: "aaaaa-aa", ObservedAt: t0, Cycles: "1", MemorySize: "1"}, t0)
		if registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("unregistered canister: %v", err)
		}
	})
}
