package store

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// CopyRecord is one copy of an outcall, recorded for forensics (registry.CopyForensics).
type CopyRecord struct {
	Source   string    // the copy's trusted client address; "" when unknown
	At       time.Time // when it arrived
	BodyHash string    // sha256 hex of its body
}

// recordCopyTx records a copy of notification id, in the transaction that counts it, unless
// registry.MaxRecordedCopies are recorded already or the notification is gone. Its offset is
// from the notification's received_at, the first copy's arrival.
func recordCopyTx(tx *gorm.DB, id int64, c CopyRecord) error {
	c.Source = canonicalAddr(c.Source)
	return tx.Exec(`INSERT INTO notification_copies (notification_id, seq, family, source, offset_ms, body_hash)
		SELECT n.id, k.cnt, ?, ?, ? - n.received_at, ? FROM notifications n,
			(SELECT COUNT(*) AS cnt FROM notification_copies WHERE notification_id = ?) k
		WHERE n.id = ? AND k.cnt < ?`,
		registry.AddrFamily(c.Source), c.Source, ms(c.At), c.BodyHash, id, id, registry.MaxRecordedCopies).Error
}

// canonicalAddr writes an IP address in one form (an IPv4-mapped address as the IPv4 one), so
// that distinct sources are counted right.
func canonicalAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return s
}

// copyRow is a recorded copy as read back (copyColumns, scanCopy).
type copyRow struct {
	Family   string
	Source   string
	OffsetMs int64
	BodyHash string
}

const copyColumns = "family, source, offset_ms, body_hash"

func scanCopy(sc scanner) (copyRow, error) {
	var r copyRow
	err := sc.Scan(&r.Family, &r.Source, &r.OffsetMs, &r.BodyHash)
	return r, err
}

// NotificationForensics summarises the recorded copies of notification id. A notification with
// none recorded (stored before the copies were recorded) has a zero summary.
func (s *Store) NotificationForensics(ctx context.Context, id int64) (registry.CopyForensics, error) {
	rows, err := queryList(s.read(ctx), "SELECT "+copyColumns+" FROM notification_copies WHERE notification_id = ? ORDER BY seq",
		[]any{id}, scanCopy)
	if err != nil {
		return registry.CopyForensics{}, fmt.Errorf("read notification copies: %w", err)
	}
	return summarise(rows), nil
}

// summarise groups copies by family, source and body; groups of identical bodies are listed
// largest first (then by hash), as the IC lists the hashes of a failed consensus.
func summarise(rows []copyRow) registry.CopyForensics {
	f := registry.CopyForensics{Recorded: len(rows), ByFamily: map[string]int{}, BodyGroups: []registry.BodyGroup{}}
	sources, bodies := map[string]bool{}, map[string]int{}
	for _, r := range rows {
		f.ByFamily[r.Family]++
		sources[r.Source] = true
		bodies[r.BodyHash]++
	}
	if len(rows) > 0 {
		lo, hi := rows[0].OffsetMs, rows[0].OffsetMs
		for _, r := range rows {
			lo, hi = min(lo, r.OffsetMs), max(hi, r.OffsetMs)
		}
		f.Spread = time.Duration(hi-lo) * time.Millisecond
	}
	f.DistinctSources = len(sources)
	for h, n := range bodies {
		f.BodyGroups = append(f.BodyGroups, registry.BodyGroup{Hash: h, Count: n})
	}
	slices.SortFunc(f.BodyGroups, func(a, b registry.BodyGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Hash, b.Hash))
	})
	return f
}

// CopyStat is a notification's copy count and the spread of its recorded copies.
type CopyStat struct {
	ID     int64
	Copies int
	Spread time.Duration
}

// CopyStats returns the copy count and spread of each notification of ids that still exists:
// the figures of the intake's per-outcall histograms, read when a key's window ends.
func (s *Store) CopyStats(ctx context.Context, ids []int64) ([]CopyStat, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := queryList(s.read(ctx), `SELECT n.id, n.copies, COALESCE((SELECT MAX(c.offset_ms) - MIN(c.offset_ms)
		FROM notification_copies c WHERE c.notification_id = n.id), 0)
		FROM notifications n WHERE n.id IN ?`, []any{ids}, scanCopyStat)
	if err != nil {
		return nil, fmt.Errorf("read copy stats: %w", err)
	}
	return out, nil
}

func scanCopyStat(sc scanner) (CopyStat, error) {
	var c CopyStat
	var spreadMs int64
	err := sc.Scan(&c.ID, &c.Copies, &spreadMs)
	c.Spread = time.Duration(spreadMs) * time.Millisecond
	return c, err
}
