package store_test

import (
	"context"
	"errors"
	"testing"

	"canistry/pkg/registry"
)

// TestStore_OneRowEndedContext: a one-row read or write whose context has ended returns an
// error on both backends; it never panics (gorm's Row hands back a nil *sql.Row when a
// prepared statement cannot be prepared, and the store's reads go through one instead).
func TestStore_OneRowEndedContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := openRegistryStoreOn(t, b)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := []struct {
			name string
			call func() error
		}{
			{"Ping", func() error { return s.Ping(ctx) }},
			{"GetCanister", func() error {
				_, err := s.GetCanister(ctx, registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai"))
				return err
			}},
			{"Notification", func() error { _, err := s.Notification(ctx, 1); return err }},
		}
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				err := c.call()
				if err == nil {
					t.Fatal("no error with an ended context")
				}
				if !errors.Is(err, context.Canceled) && registry.ErrorCode(err) == registry.ENOTFOUND {
					t.Fatalf("ended context read as not found: %v", err)
				}
			})
		}
	})
}
