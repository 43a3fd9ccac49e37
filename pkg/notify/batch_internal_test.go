package notify

import (
	"testing"
	"time"

	"canistry/pkg/registry"
)

// TestTake: the claim loop moves to committing only the queued requests whose deadline has not
// passed; an abandoned one is skipped without an answer (its waiter answered), an expired one
// is abandoned and answered 503, and a batch with some of each still commits the others.
func TestTake(t *testing.T) {
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &Intake{m: m}
	now := time.Unix(1_700_000_000, 0)
	req := func(state int32, deadline time.Time) *claimReq {
		r := &claimReq{n: &registry.Notification{}, deadline: deadline, resp: make(chan claimResp, 1)}
		r.state.Store(state)
		return r
	}
	live, noDeadline := req(claimQueued, now.Add(time.Second)), req(claimQueued, time.Time{})
	abandoned := req(claimAbandoned, now.Add(time.Second))
	expired, atDeadline := req(claimQueued, now.Add(-time.Millisecond)), req(claimQueued, now)
	kept := in.take([]*claimReq{live, abandoned, expired, noDeadline, atDeadline}, now)
	if len(kept) != 2 || kept[0] != live || kept[1] != noDeadline {
		t.Fatalf("kept %d requests, want the live one and the one without a deadline", len(kept))
	}
	for name, tc := range map[string]struct {
		r       *claimReq
		state   int32
		answers bool
	}{
		"live": {live, claimCommitting, false}, "noDeadline": {noDeadline, claimCommitting, false},
		"abandoned": {abandoned, claimAbandoned, false},
		"expired":   {expired, claimAbandoned, true}, "atDeadline": {atDeadline, claimAbandoned, true},
	} {
		if got := tc.r.state.Load(); got != tc.state {
			t.Errorf("%s: state %d, want %d", name, got, tc.state)
		}
		if got := len(tc.r.resp) == 1; got != tc.answers {
			t.Errorf("%s: answered %v, want %v", name, got, tc.answers)
		}
		if tc.answers {
			if res := <-tc.r.resp; registry.ErrorCode(res.err) != registry.EUNAVAILABLE {
				t.Errorf("%s: answer %v, want unavailable", name, res.err)
			}
		}
	}
	// The waiter of a committing request cannot abandon it any more.
	if live.state.CompareAndSwap(claimQueued, claimAbandoned) {
		t.Error("a committing request was abandoned")
	}
}
