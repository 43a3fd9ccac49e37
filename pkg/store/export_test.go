package store

import (
	"context"
	"net"

	"gorm.io/gorm"
)

// Write exposes the IMMEDIATE write path to the external tests.
func (s *Store) Write(ctx context.Context, fn func(tx *gorm.DB) error) error { return s.write(ctx, fn) }

// MigrationSQL returns the SQL of one migration file (name without .sql), for upgrade tests.
func MigrationSQL(name string) (string, error) {
	b, err := migrationFS.ReadFile("migrations/" + name + ".sql")
	return string(b), err
}

// MigrationVersions lists the version numbers of one backend's migration set, in order.
func MigrationVersions(pg bool) ([]int, error) {
	target := "registry.db"
	if pg {
		target = "postgres://"
	}
	migs, err := loadMigrations(dialectFor(target).migrations)
	out := make([]int, len(migs))
	for i, m := range migs {
		out[i] = m.version
	}
	return out, err
}

// WithoutPipeline makes a PostgreSQL store claim every batch on the general path
// (claimBatchTx), the reference the pipelined one is compared with.
func WithoutPipeline() Option { return func(s *Store) { s.noPipeline = true } }

// WithWriterConn wraps each connection of the PostgreSQL writer pool in wrap.
func WithWriterConn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Store) { s.writerDial = wrap }
}

// WithReaderConn wraps each connection of the PostgreSQL read pool in wrap.
func WithReaderConn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Store) { s.readerDial = wrap }
}

// WriteLockKey is the PostgreSQL advisory lock every write transaction holds.
const WriteLockKey = writeLockKey

// SyncMiningRaced is a follower that read its batch, then lost the race to another one:
// it reads the next batch as SyncMining does, runs between (another follower's sync, more
// outcalls), then applies what it read in a write transaction.
func (s *Store) SyncMiningRaced(ctx context.Context, between func()) (MiningSync, error) {
	var pos int64
	if err := s.readOne(ctx, "SELECT last_id FROM mining_positions WHERE name = 'solutions'").Scan(&pos); err != nil {
		return MiningSync{}, err
	}
	pre, err := readOutcalls(s.read(ctx), pos)
	if err != nil {
		return MiningSync{}, err
	}
	between()
	var out MiningSync
	err = s.writeOn(ctx, s.fw, func(tx *gorm.DB) error {
		out = MiningSync{}
		w, err := s.txRows(ctx, tx)
		if err != nil {
			return err
		}
		return syncSolutionsTx(w, tx, pre, &out)
	})
	return out, err
}

// WriterSettings is a runtime setting of the writer's connection and of the mining follower's
// (SHOW).
func (s *Store) WriterSettings(ctx context.Context, name string) (writer, follower string, err error) {
	if err = s.w.db.WithContext(ctx).Raw("SHOW " + name).Row().Scan(&writer); err == nil {
		err = s.fw.db.WithContext(ctx).Raw("SHOW " + name).Row().Scan(&follower)
	}
	return writer, follower, err
}

// AfterMiningTotals makes MiningSummary run f between its first read and the others, until
// the test ends.
func AfterMiningTotals(t interface{ Cleanup(func()) }, f func()) {
	afterMiningTotals = f
	t.Cleanup(func() { afterMiningTotals = nil })
}

// FollowerConns is how many connections the mining follower's pool has open.
func (s *Store) FollowerConns() int {
	sqlDB, err := s.fw.db.DB()
	if err != nil {
		return -1
	}
	return sqlDB.Stats().OpenConnections
}
