package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// Mining analytics (issue 27): GET /tokens/{id}/mining, /tokens/{id}/solutions and
// /tokens/{id}/mining/series, as reported by the miners' solution_found outcalls and kept by
// the notifier's follower (store.SyncMining).

// MaxSeriesBuckets bounds one mining series.
const MaxSeriesBuckets = 1000

type miningRangeJSON struct {
	First *string `json:"first"`
	Last  *string `json:"last"`
	Min   *string `json:"min,omitempty"`
	Max   *string `json:"max,omitempty"`
}

type minerShareJSON struct {
	MinerID        string   `json:"miner_id"`
	Name           *string  `json:"name"`
	Solutions      int64    `json:"solutions"`
	Share          float64  `json:"share"`
	LastSolutionAt string   `json:"last_solution_at"`
	HashRate       *float64 `json:"hash_rate"`
}

type miningJSON struct {
	TokenID                 string           `json:"token_id"`
	From                    string           `json:"from"`
	To                      string           `json:"to"`
	Solutions               int64            `json:"solutions"`
	BlocksPerHour           *float64         `json:"blocks_per_hour"`
	AverageBlockTimeSeconds *float64         `json:"average_block_time_seconds"`
	Difficulty              miningRangeJSON  `json:"difficulty"`
	Reward                  miningRangeJSON  `json:"reward"`
	NetworkHashRate         *float64         `json:"network_hash_rate"`
	Miners                  []minerShareJSON `json:"miners"`
	MinerCount              int64            `json:"miner_count"`
}

func toMiningJSON(m *registry.MiningSummary) miningJSON {
	out := miningJSON{TokenID: m.TokenID, From: rfc3339(m.From), To: rfc3339(m.To), Solutions: m.Solutions,
		BlocksPerHour: m.BlocksPerHour, AverageBlockTimeSeconds: m.AverageBlockTimeSeconds,
		Difficulty: miningRangeJSON{First: optString(m.DifficultyFirst), Last: optString(m.DifficultyLast),
			Min: optString(m.DifficultyMin), Max: optString(m.DifficultyMax)},
		Reward:          miningRangeJSON{First: optString(m.RewardFirst), Last: optString(m.RewardLast)},
		NetworkHashRate: m.NetworkHashRate, Miners: make([]minerShareJSON, len(m.Miners)), MinerCount: m.MinerCount}
	for i, s := range m.Miners {
		out.Miners[i] = minerShareJSON{MinerID: s.MinerID, Name: optString(s.Name), Solutions: s.Solutions,
			Share: share(s.Solutions, m.Solutions), LastSolutionAt: rfc3339(s.LastSolutionAt), HashRate: s.HashRate}
	}
	return out
}

// share is part / total, 0 for a total of 0. A summary is read from one snapshot, so a miner
// with solutions always comes with a total that counts them; but a share of x / 0 (+Inf) would
// make the JSON encoder fail after the 200 was set, and the client get an empty 200.
func share(part, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(part) / float64(total)
}

// miningToken reads the token id of a mining route and answers 404 for a token that is
// neither registered nor named by a stored solution.
func (a *api) miningToken(c *gin.Context) (string, bool) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return "", false
	}
	return string(id), true
}

func (a *api) requireMiningToken(ctx context.Context, c *gin.Context, id string) bool {
	known, err := a.d.Store.MiningKnown(ctx, id)
	if err == nil && !known {
		err = registry.Errorf(registry.ENOTFOUND, "token %s is not registered and no stored outcall names it", id)
	}
	if err != nil {
		a.werr(c, err)
		return false
	}
	return true
}

// tokenMining answers GET /tokens/{id}/mining?from&to (default: the last 24 hours).
func (a *api) tokenMining(c *gin.Context) {
	id, ok := a.miningToken(c)
	if !ok {
		return
	}
	q := newQuery(c, "from", "to")
	from, to := q.miningRange(a.d.Now().UTC())
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	ctx := c.Request.Context()
	if !a.requireMiningToken(ctx, c, id) {
		return
	}
	sum, err := a.d.Store.MiningSummary(ctx, store.MiningQuery{Token: id, From: from, To: to, FreshAfter: a.d.Now().Add(-a.d.StaleAfter)})
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, toMiningJSON(&sum))
}

// miningRange reads from and to (to defaults to now, from to 24 hours before to).
func (q *query) miningRange(now time.Time) (time.Time, time.Time) {
	to := q.time("to", now)
	from := q.time("from", to.Add(-24*time.Hour))
	switch {
	case q.err != nil:
	case from.After(to):
		q.fail("from is after to")
	case to.Sub(from) > MaxStatsRange:
		q.fail("from and to may be at most %s apart", MaxStatsRange)
	}
	return from.Truncate(time.Millisecond), to.Truncate(time.Millisecond)
}

type solutionJSON struct {
	NotificationID int64   `json:"notification_id"`
	BlockHeight    string  `json:"block_height"`
	MinerID        string  `json:"miner_id"`
	Difficulty     *string `json:"difficulty"`
	Reward         *string `json:"reward"`
	Hash           string  `json:"hash"`
	Nonce          string  `json:"nonce"`
	ReceivedAt     string  `json:"received_at"`
	Repeat         bool    `json:"repeat"`
	RepeatOf       *int64  `json:"repeat_of"`
}

func toSolutionJSON(s *registry.Solution) solutionJSON {
	out := solutionJSON{NotificationID: s.NotificationID, BlockHeight: s.BlockHeight, MinerID: s.MinerID,
		Difficulty: optString(s.Difficulty), Reward: optString(s.Reward), Hash: s.Hash, Nonce: s.Nonce,
		ReceivedAt: rfc3339(s.ReceivedAt), Repeat: s.RepeatOf != 0}
	if s.RepeatOf != 0 {
		r := s.RepeatOf
		out.RepeatOf = &r
	}
	return out
}

// tokenSolutions answers GET /tokens/{id}/solutions: newest first, paged like every list.
func (a *api) tokenSolutions(c *gin.Context) {
	id, ok := a.miningToken(c)
	if !ok {
		return
	}
	q := newQuery(c, "limit", "cursor", "order", "miner", "from", "to")
	f := registry.SolutionFilter{Token: id, Miner: string(q.canisterID("miner")), From: q.time("from", time.Time{}),
		To: q.time("to", time.Time{}), Page: q.page(c.Query("order") != "asc")}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		q.fail("to is before from")
	}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	if !a.requireMiningToken(c.Request.Context(), c, id) {
		return
	}
	replyPage(a, c, &f.Page, registry.Staleness{}, func(ctx context.Context) (registry.List[registry.Solution], error) {
		return a.d.Store.Solutions(ctx, f)
	}, toSolutionJSON)
}

type miningBucketJSON struct {
	Start                   string   `json:"start"`
	Solutions               int64    `json:"solutions"`
	DifficultyMax           *string  `json:"difficulty_max"`
	AverageBlockTimeSeconds *float64 `json:"average_block_time_seconds"`
	NetworkHashRate         *float64 `json:"network_hash_rate"`
}

type miningSeriesJSON struct {
	TokenID     string             `json:"token_id"`
	From        string             `json:"from"`
	To          string             `json:"to"`
	StepSeconds int64              `json:"step_seconds"`
	Buckets     []miningBucketJSON `json:"buckets"`
}

// tokenMiningSeries answers GET /tokens/{id}/mining/series?from&to&step: buckets of step
// (1m to 1d, whole minutes, default 1h) aligned to multiples of step since the Unix epoch,
// covering [from, to], at most MaxSeriesBuckets of them.
func (a *api) tokenMiningSeries(c *gin.Context) {
	id, ok := a.miningToken(c)
	if !ok {
		return
	}
	q := newQuery(c, "from", "to", "step")
	from, to := q.miningRange(a.d.Now().UTC())
	step := q.step("step", time.Hour)
	start, n := seriesBuckets(q, from, to, step)
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	ctx := c.Request.Context()
	if !a.requireMiningToken(ctx, c, id) {
		return
	}
	buckets, err := a.d.Store.MiningSeries(ctx, id, start, step, n)
	if err != nil {
		a.werr(c, err)
		return
	}
	out := miningSeriesJSON{TokenID: id, From: rfc3339(start), To: rfc3339(start.Add(time.Duration(n) * step)),
		StepSeconds: int64(step / time.Second), Buckets: make([]miningBucketJSON, n)}
	for i, b := range buckets {
		out.Buckets[i] = miningBucketJSON{Start: rfc3339(b.Start), Solutions: b.Solutions, DifficultyMax: optString(b.DifficultyMax),
			AverageBlockTimeSeconds: b.AverageBlockTimeSeconds, NetworkHashRate: b.NetworkHashRate}
	}
	c.JSON(http.StatusOK, out)
}

// seriesBuckets returns the first bucket's start (from rounded down to a multiple of step) and
// how many buckets cover [from, to].
func seriesBuckets(q *query, from, to time.Time, step time.Duration) (time.Time, int) {
	if q.err != nil {
		return time.Time{}, 0
	}
	st := step.Milliseconds()
	lo := from.UnixMilli() - ((from.UnixMilli()%st)+st)%st
	n := (to.UnixMilli()-lo)/st + 1
	if n > MaxSeriesBuckets {
		q.fail("from, to and step make %d buckets; at most %d are allowed (a larger step or a shorter range)", n, MaxSeriesBuckets)
		return time.Time{}, 0
	}
	return time.UnixMilli(lo).UTC(), int(n)
}

// step reads a bucket width: a Go duration (5m, 1h30m) or 1d, a whole number of minutes from
// 1m to 1d.
func (q *query) step(name string, def time.Duration) time.Duration {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if strings.HasSuffix(v, "d") {
		d, err = time.ParseDuration(strings.TrimSuffix(v, "d") + "h")
		d *= 24
	}
	if err != nil || d < time.Minute || d > 24*time.Hour || d%time.Minute != 0 {
		q.fail("%s must be a whole number of minutes from 1m to 1d, such as 5m, 1h or 1d, not %.40q", name, v)
		return def
	}
	return d
}
