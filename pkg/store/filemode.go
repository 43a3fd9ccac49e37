package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The SQLite database holds webhook signing secrets, so outside systemd (whose units set
// UMask=0077 and StateDirectoryMode) it must not be readable by other users whatever the umask.
const (
	dataDirMode fs.FileMode = 0o700 // a data directory Open creates
	dbFileMode  fs.FileMode = 0o600 // a database file Open creates
)

// createPrivate creates the data directory (0700) and the database file (0600) when they do
// not exist yet; existing ones keep their mode. SQLite gives the -wal and -shm files it creates
// the mode of the database file, so they are 0600 too.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), dataDirMode); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, dbFileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	// The umask only clears bits, but a umask-free create mode is cheap to make certain of.
	if err := f.Chmod(dbFileMode); err != nil {
		_ = f.Close()
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}
