package ic_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

func TestClient_Faults(t *testing.T) {
	c, s := newClient(t)
	next := uint64(100)
	miner := func() *ictest.Canister {
		next++
		return s.AddCanister(canisterID(next), hash32(byte(next))).Install(ictest.NewMiner(ictest.MinerInfo{}, ictest.CycleUsage{}))
	}
	short := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}

	for _, tc := range []struct {
		name      string
		setup     func() *ictest.Canister
		ctx       func(*testing.T) context.Context
		cold      bool // a new client, whose node-key cache is empty
		code      string
		reject    uint64 // IC reject code kept in the chain, 0 if none
		errorCode string
		contains  string
	}{
		{name: "RejectKeepsCode", setup: func() *ictest.Canister {
			c := miner()
			c.RejectWith("get_info", 4, "IC0406", "caller is not allowed")
			return c
		}, code: registry.EUNAVAILABLE, reject: 4, errorCode: "IC0406", contains: "caller is not allowed"},
		{name: "TransientReject", setup: func() *ictest.Canister {
			c := miner()
			c.RejectWith("get_info", 2, "IC0207", "out of cycles")
			return c
		}, code: registry.EUNAVAILABLE, reject: 2, errorCode: "IC0207"},
		{name: "Trap", setup: func() *ictest.Canister {
			c := miner()
			c.Handle("get_info", func([]byte) ([]any, error) { return nil, errors.New("boom") })
			return c
		}, code: registry.EUNAVAILABLE, reject: 5, errorCode: "IC0503", contains: "boom"},
		{name: "MethodNotFound", setup: func() *ictest.Canister {
			c := miner()
			c.Remove("get_info")
			return c
		}, code: registry.ENOTFOUND, reject: 3, errorCode: "IC0536", contains: "method not found"},
		{name: "CanisterNotFound", setup: func() *ictest.Canister {
			c := miner()
			s.RemoveCanister(c.ID())
			return c
		}, code: registry.ENOTFOUND, reject: 3, errorCode: "IC0301", contains: "canister not found"},
		{name: "EmptyCanister", setup: func() *ictest.Canister {
			c := miner()
			c.SetModuleHash(nil)
			return c
		}, code: registry.ENOTFOUND, reject: 3, errorCode: "IC0537"},
		{name: "MalformedReply", setup: func() *ictest.Canister {
			c := miner()
			c.SetFault(ictest.FaultMalformedReply)
			return c
		}, code: registry.EUNSUPPORTED, contains: "get_info reply not valid Candid"},
		{name: "TypeMismatch", setup: func() *ictest.Canister {
			c := miner()
			c.Reply("get_info", "not a record")
			return c
		}, code: registry.EUNSUPPORTED, contains: "get_info reply (text) does not decode into (*ic.minerInfoResult)"},
		{name: "WrongKeyRefused", setup: func() *ictest.Canister {
			c := miner()
			c.SetFault(ictest.FaultWrongKey)
			return c
		}, cold: true, code: registry.EUNAVAILABLE, contains: "signature verification failed"},
		{name: "BadNodeSignatureRefused", setup: func() *ictest.Canister {
			c := miner()
			c.SetFault(ictest.FaultBadNodeSignature)
			return c
		}, code: registry.EUNAVAILABLE, contains: "invalid replied signature"},
		{name: "HTTP503", setup: func() *ictest.Canister {
			c := miner()
			c.SetFault(ictest.FaultHTTP503)
			return c
		}, code: registry.EUNAVAILABLE, contains: "HTTP 503"},
		{name: "Stalled", setup: func() *ictest.Canister {
			c := miner()
			c.SetFault(ictest.FaultStall)
			return c
		}, ctx: short, code: registry.EUNAVAILABLE},
		{name: "LatencyBeyondDeadline", setup: func() *ictest.Canister {
			c := miner()
			c.SetLatency(time.Hour)
			return c
		}, ctx: short, code: registry.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn := tc.setup()
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			client := c
			if tc.cold {
				client = newBenchClient(t, s)
			}
			_, _, err := client.Miner(ctx, regID(cn.ID()))
			wantCode(t, err, tc.code)
			if tc.contains != "" && !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			var rej *registry.RejectError
			switch {
			case tc.reject == 0 && errors.As(err, &rej):
				t.Errorf("unexpected reject %v", rej)
			case tc.reject != 0 && !errors.As(err, &rej):
				t.Errorf("no RejectError in %v", err)
			case tc.reject != 0 && (rej.Code != tc.reject || rej.ErrorCode != tc.errorCode):
				t.Errorf("reject = %d %s, want %d %s", rej.Code, rej.ErrorCode, tc.reject, tc.errorCode)
			}
		})
	}

	t.Run("LatencyWithinDeadline", func(t *testing.T) {
		cn := miner()
		cn.SetLatency(time.Millisecond)
		s.SetLatency(time.Millisecond)
		t.Cleanup(func() { s.SetLatency(0) })
		if _, _, err := c.Miner(t.Context(), regID(cn.ID())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CanisterStateWrongKeyRefused", func(t *testing.T) {
		cn := miner()
		cn.SetFault(ictest.FaultWrongKey)
		_, err := c.Canister(t.Context(), regID(cn.ID()))
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("CanisterStateStalled", func(t *testing.T) {
		cn := miner()
		cn.SetFault(ictest.FaultStall)
		_, err := c.Canister(short(t), regID(cn.ID()))
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("ServerWideFaultThenHeal", func(t *testing.T) {
		cn := miner()
		s.SetFault(ictest.FaultHTTP503)
		_, err := c.Canister(t.Context(), regID(cn.ID()))
		wantCode(t, err, registry.EUNAVAILABLE)
		s.SetFault(ictest.FaultNone)
		if _, err := c.Canister(t.Context(), regID(cn.ID())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("ErrInvalidURL", func(t *testing.T) {
		_, err := ic.New(t.Context(), ic.Config{URL: "ftp://x"})
		wantCode(t, err, registry.EINVALID)
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		s := ictest.NewServer(t)
		s.Close()
		_, err := ic.New(t.Context(), ic.Config{URL: s.URL(), FetchRootKey: true})
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("ErrServerGone", func(t *testing.T) {
		c, s := newClient(t)
		id := canisterID(1)
		s.AddCanister(id, hash32(1))
		s.Close()
		_, err := c.Canister(t.Context(), regID(id))
		wantCode(t, err, registry.EUNAVAILABLE)
	})
}
