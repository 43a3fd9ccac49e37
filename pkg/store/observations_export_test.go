package store

import (
	"context"

	"gorm.io/gorm"
)

// ReadDB exposes the read pool to the external observation tests, which check stored rows
// whose read methods live elsewhere.
func (s *Store) ReadDB(ctx context.Context) *gorm.DB { return s.read(ctx) }
