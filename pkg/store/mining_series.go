package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// MiningSeries answers GET /tokens/{id}/mining/series: n buckets of step (a whole number of
// minutes) from start (a multiple of step since the Unix epoch). Solutions, difficulty and
// block time come from the token hours when step is whole hours (a 30-day series of hours reads
// 720 rows), else from the minutes. The network hash rate is kept per token hour (the sum over
// miners of the mean each reported while mining the token): a bucket's is the mean of the
// hours that start inside it and have one, or, for a bucket shorter than an hour that no hour
// starts in, the hour it lies in.
func (s *Store) MiningSeries(ctx context.Context, token string, start time.Time, step time.Duration, n int) ([]registry.MiningBucket, error) {
	lo, st := ms(start), step.Milliseconds()
	hi := lo + int64(n)*st
	out := make([]registry.MiningBucket, n)
	for i := range out {
		out[i].Start = fromMs(lo + int64(i)*st)
	}
	type bucketSum struct {
		bucket, solutions, first, last int64
		dmax                           string
	}
	q := `SELECT (minute_at - ?) / ? AS b, sum(solutions), min(first_at), max(last_at), max(difficulty_max)
		FROM mining_minutes WHERE token_id = ? AND minute_at >= ? AND minute_at < ? GROUP BY b`
	if st%hourMs == 0 {
		q = `SELECT (hour_at - ?) / ? AS b, sum(solutions), min(first_at), max(last_at), max(difficulty_max)
		FROM mining_token_hours WHERE token_id = ? AND hour_at >= ? AND hour_at < ? AND solutions > 0 GROUP BY b`
	}
	var rows []bucketSum
	err := s.readSnapshot(ctx, func(db *gorm.DB) error { // the buckets and their hash rates of one commit
		var err error
		rows, err = queryList(db, q, []any{lo, st, token, lo, hi}, func(sc scanner) (bucketSum, error) {
			var v bucketSum
			return v, sc.Scan(&v.bucket, &v.solutions, &v.first, &v.last, &v.dmax)
		})
		if err == nil {
			err = seriesHashRates(db, token, lo, st, out)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mining series of %s: %w", token, translate(err))
	}
	for _, r := range rows {
		if r.bucket < 0 || r.bucket >= int64(n) {
			continue
		}
		b := &out[r.bucket]
		b.Solutions, b.DifficultyMax = r.solutions, registry.NatFromKey(r.dmax)
		if r.solutions >= 2 {
			v := float64(r.last-r.first) / 1000 / float64(r.solutions-1)
			b.AverageBlockTimeSeconds = &v
		}
	}
	return out, nil
}

// seriesHashRates fills each bucket's NetworkHashRate from mining_token_hours.
func seriesHashRates(db *gorm.DB, token string, lo, st int64, out []registry.MiningBucket) error {
	type hourRate struct {
		hour int64
		rate float64
	}
	hi := lo + int64(len(out))*st
	rows, err := queryList(db, `SELECT hour_at, hash_rate FROM mining_token_hours
		WHERE token_id = ? AND hour_at >= ? AND hour_at < ? AND hash_rate IS NOT NULL`,
		[]any{token, floorTo(lo, hourMs), hi}, func(sc scanner) (hourRate, error) {
			var v hourRate
			return v, sc.Scan(&v.hour, &v.rate)
		})
	if err != nil || len(rows) == 0 {
		return err
	}
	byHour := make(map[int64]float64, len(rows))
	for _, r := range rows {
		byHour[r.hour] = r.rate
	}
	for i := range out {
		b := lo + int64(i)*st
		h, last := floorTo(b+hourMs-1, hourMs), b+st
		if h >= last { // no hour starts inside: the hour the bucket lies in
			h, last = floorTo(b, hourMs), floorTo(b, hourMs)+1
		}
		var sum float64
		var hours int
		for ; h < last; h += hourMs {
			if r, ok := byHour[h]; ok {
				sum += r
				hours++
			}
		}
		if hours > 0 {
			v := sum / float64(hours)
			out[i].NetworkHashRate = &v
		}
	}
	return nil
}
