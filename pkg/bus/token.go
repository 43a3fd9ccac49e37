package bus

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the generated NATS token, kept beside the database.
const TokenFile = "nats.token"

// DataDirToken returns the NATS token stored at path, creating it when missing: 32 random
// bytes, hex encoded, in a file of mode 0600 that appears whole or not at all (written to a
// temporary file, then hard-linked into place, so two binaries starting together agree on one
// token). A token file that others may read has its mode fixed to 0600 (fixed is then true);
// one that cannot be fixed, is not a regular file, or is empty is an error naming the file,
// never the token.
func DataDirToken(path string) (token string, fixed bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		token, fixed, err = readToken(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return token, fixed, err
		}
		if err := createToken(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", false, err
		}
	}
	return "", false, fmt.Errorf("NATS token file %s: not created", path)
}

func readToken(path string) (string, bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", false, err
	}
	if !fi.Mode().IsRegular() {
		return "", false, fmt.Errorf("NATS token file %s is not a regular file (mode %s); remove it or set NATS_TOKEN", path, fi.Mode())
	}
	fixed := false
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", false, fmt.Errorf("NATS token file %s has mode %04o (readable by others) and could not be set to 0600: %w", path, perm, err)
		}
		fixed = true
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("read NATS token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", false, fmt.Errorf("NATS token file %s is empty; remove it to generate a new token, or set NATS_TOKEN", path)
	}
	return tok, fixed, nil
}

func createToken(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil { // as store.Open creates it
		return fmt.Errorf("create data directory for the NATS token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("generate NATS token: %w", err)
	}
	f, err := os.CreateTemp(dir, ".nats.token.*") // mode 0600
	if err != nil {
		return fmt.Errorf("create NATS token file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("create NATS token file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(raw[:]) + "\n"); err != nil {
		_ = f.Close()
		return fmt.Errorf("write NATS token file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write NATS token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write NATS token file: %w", err)
	}
	// Link fails if path exists: the first binary's token wins and the others read it.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("create NATS token file %s: %w", path, err)
	}
	return nil
}
