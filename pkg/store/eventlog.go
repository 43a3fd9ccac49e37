package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The event log (migration 0003): every event that reaches /ws is a row of events, appended
// inside the write transaction of the change it describes, so a change and its event commit
// together or not at all. Readers tail it in id order (pkg/eventlog).

// eventRow is one row of events.
type eventRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	Event          string
	Data           string
	Timestamp      int64
	MinerID        string
	NotificationID *int64
	LoggedAt       int64
}

func (eventRow) TableName() string { return "events" }

// appendEvent adds e to the log inside tx, stamped with the store's clock, and returns it as
// logged: with its id and cursor.
func (s *Store) appendEvent(tx *gorm.DB, e registry.Event) (registry.Event, error) {
	row := s.eventRowOf(e)
	if err := tx.Create(&row).Error; err != nil {
		return registry.Event{}, fmt.Errorf("append %s event: %w", e.Event, err)
	}
	return s.toEvent(&row), nil
}

// eventRowOf is the row that logs e now (without its id).
func (s *Store) eventRowOf(e registry.Event) eventRow {
	data := string(e.Data)
	if data == "" {
		data = "{}"
	}
	row := eventRow{Event: e.Event, Data: data, Timestamp: e.Timestamp, MinerID: e.MinerID, LoggedAt: ms(s.now())}
	if e.NotificationID != 0 {
		id := e.NotificationID
		row.NotificationID = &id
	}
	return row
}

// appendEvents appends events in order and returns them as logged.
func (s *Store) appendEvents(tx *gorm.DB, evs []registry.Event) ([]registry.Event, error) {
	out := make([]registry.Event, 0, len(evs))
	for _, e := range evs {
		logged, err := s.appendEvent(tx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, logged)
	}
	return out, nil
}

// eventColumns are the columns of eventRow, in scanEvent's order.
const eventColumns = "id, event, data, timestamp, miner_id, notification_id, logged_at"

func (s *Store) scanEvent(sc scanner) (registry.Event, error) {
	var r eventRow
	err := sc.Scan(&r.ID, &r.Event, &r.Data, &r.Timestamp, &r.MinerID, &r.NotificationID, &r.LoggedAt)
	return s.toEvent(&r), err
}

func (s *Store) toEvent(r *eventRow) registry.Event {
	e := registry.Event{ID: r.ID, Event: r.Event, Data: json.RawMessage(r.Data), Timestamp: r.Timestamp,
		MinerID: r.MinerID, Cursor: s.epoch + ":" + strconv.FormatInt(r.ID, 10)}
	if r.NotificationID != nil {
		e.NotificationID = *r.NotificationID
	}
	return e
}

// Epoch is the event log's epoch: generated when the log was created, part of every cursor.
func (s *Store) Epoch() string { return s.epoch }

func (s *Store) loadEpoch(ctx context.Context) error {
	epochs, err := queryList(s.read(ctx), "SELECT epoch FROM event_log", nil, scanValue[string])
	if err != nil {
		return fmt.Errorf("read event log epoch: %w", translate(err))
	}
	if len(epochs) != 1 || epochs[0] == "" {
		return fmt.Errorf("event log: want one epoch, found %d", len(epochs))
	}
	s.epoch = epochs[0]
	return nil
}

// Events returns up to limit logged events with after < id ≤ upTo, in id order (upTo ≤ 0
// means no upper bound).
func (s *Store) Events(ctx context.Context, after, upTo int64, limit int) ([]registry.Event, error) {
	if upTo <= 0 {
		upTo = math.MaxInt64
	}
	out, err := queryList(s.read(ctx), "SELECT "+eventColumns+" FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
		[]any{after, upTo, limit}, s.scanEvent)
	if err != nil {
		return nil, fmt.Errorf("read event log after %d: %w", after, err)
	}
	return out, nil
}

// EventLogBounds returns the log's epoch, oldest stored id and head.
func (s *Store) EventLogBounds(ctx context.Context) (registry.LogBounds, error) {
	var oldest, head sql.NullInt64
	if err := s.readOne(ctx, s.d.eventHead).Scan(&oldest, &head); err != nil {
		return registry.LogBounds{}, fmt.Errorf("event log bounds: %w", translate(err))
	}
	out := registry.LogBounds{Epoch: s.epoch, Head: head.Int64}
	out.Oldest = out.Head + 1
	if oldest.Valid {
		out.Oldest = oldest.Int64
	}
	return out, nil
}

// AppendEvent logs a registry event that belongs to no other write (a test's, or an
// operator's announcement) and returns it as logged.
func (s *Store) AppendEvent(ctx context.Context, e registry.Event) (registry.Event, error) {
	var out registry.Event
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.appendEvent(tx, e)
		return err
	})
	if err != nil {
		return registry.Event{}, fmt.Errorf("append event: %w", err)
	}
	return out, nil
}

// PruneEvents deletes up to limit events logged more than keep before now, oldest first, and
// returns how many. Call it again while it returns limit.
func (s *Store) PruneEvents(ctx context.Context, now time.Time, keep time.Duration, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM events WHERE id IN (
			SELECT id FROM events WHERE logged_at < ? ORDER BY id LIMIT ?)`, ms(now.Add(-keep)), limit)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return n, nil
}
