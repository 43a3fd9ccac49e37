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
// block time come from the minute aggregates; the network hash rate is kept per hour: a
// bucket's is the sum over miners of the mean hash rate each reported, while mining the token,
// in the hours that start inside the bucket (or, for a bucket shorter than an hour that no hour
// starts in, the hour it lies in).
func (s *Store) MiningSeries(ctx context.Context, token string, start time.Time, step time.Duration, n int) ([]registry.MiningBucket, error) {
	lo, st := ms(start), step.Milliseconds()
	hi := lo + int64(n)*st
	out := make([]registry.MiningBucket, n)
	for i := range out {
		out[i].Start = fromMs(lo + int64(i)*st)
	}
	type minuteSum struct {
		bucket, solutions, first, last int64
		dmax                           string
	}
	db := s.read(ctx)
	rows, err := queryList(db, `SELECT (minute_at - ?) / ? AS b, sum(solutions), min(first_at), max(last_at), max(difficulty_max)
		FROM mining_minutes WHERE token_id = ? AND minute_at >= ? AND minute_at < ? GROUP BY b`,
		[]any{lo, st, token, lo, hi}, func(sc scanner) (minuteSum, error) {
			var v minuteSum
			return v, sc.Scan(&v.bucket, &v.solutions, &v.first, &v.last, &v.dmax)
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
	if err := s.seriesHashRates(db, token, lo, st, out); err != nil {
		return nil, fmt.Errorf("mining series of %s: %w", token, translate(err))
	}
	return out, nil
}

// seriesHashRates fills each bucket's NetworkHashRate from mining_hours.
func (s *Store) seriesHashRates(db *gorm.DB, token string, lo, st int64, out []registry.MiningBucket) error {
	type hourRate struct {
		hour  int64
		miner string
		sum   float64
		n     int64
	}
	hi := lo + int64(len(out))*st
	rows, err := queryList(db, `SELECT hour_at, miner_id, hash_rate_sum, hash_rate_samples FROM mining_hours
		WHERE token_id = ? AND hour_at >= ? AND hour_at < ? AND hash_rate_samples > 0`,
		[]any{token, floorTo(lo, hourMs), hi}, func(sc scanner) (hourRate, error) {
			var v hourRate
			return v, sc.Scan(&v.hour, &v.miner, &v.sum, &v.n)
		})
	if err != nil || len(rows) == 0 {
		return err
	}
	byHour := map[int64][]hourRate{}
	for _, r := range rows {
		byHour[r.hour] = append(byHour[r.hour], r)
	}
	per := make([]map[string][2]float64, len(out)) // miner → {sum, samples}
	for i := range out {
		b := lo + int64(i)*st
		h, last := floorTo(b+hourMs-1, hourMs), b+st
		if h >= last { // no hour starts inside: the hour the bucket lies in
			h, last = floorTo(b, hourMs), floorTo(b, hourMs)+1
		}
		for ; h < last; h += hourMs {
			for _, r := range byHour[h] {
				if per[i] == nil {
					per[i] = map[string][2]float64{}
				}
				a := per[i][r.miner]
				per[i][r.miner] = [2]float64{a[0] + r.sum, a[1] + float64(r.n)}
			}
		}
	}
	for i, m := range per {
		if m == nil {
			continue
		}
		var total float64
		for _, a := range m {
			total += a[0] / a[1]
		}
		out[i].NetworkHashRate = &total
	}
	return nil
}
