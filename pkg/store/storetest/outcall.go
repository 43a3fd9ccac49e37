package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// Outcall is one copy of an outcall as the intake would claim it.
type Outcall struct {
	Key   string // dedup key (copies share it)
	Miner string
	Event string // "" for solution_found
	Data  map[string]any
	At    time.Time
}

// ClaimOutcall claims one copy through store.ClaimNotification, the intake's write path, with a
// 5-minute dedup window, and returns the claim (Claimed false for a copy).
func ClaimOutcall(ctx context.Context, s *store.Store, o Outcall) (store.NotificationClaim, error) {
	data, err := json.Marshal(o.Data)
	if err != nil {
		return store.NotificationClaim{}, err
	}
	if o.Event == "" {
		o.Event = registry.EventSolutionFound
	}
	sum := sha256.Sum256(data)
	return s.ClaimNotification(ctx, &registry.Notification{DedupKey: o.Key, MinerID: o.Miner, Event: o.Event,
		ICTimestamp: uint64(o.At.UnixNano()), Data: data, BodyHash: hex.EncodeToString(sum[:]), ReceivedAt: o.At,
		ResponseStatus: 200, ResponseBody: []byte(`{"ok":true}`), Source: "192.0.2.1"}, 5*time.Minute)
}

// SyncMining runs store.SyncMining until it has caught up.
func SyncMining(ctx context.Context, s *store.Store) error {
	for {
		r, err := s.SyncMining(ctx)
		if err != nil || !r.More {
			return err
		}
	}
}
