package registry

import (
	"net/url"
	"strings"
	"time"
)

// ModuleHash is a known build: a Wasm module hash and what it is.
type ModuleHash struct {
	Hash      string // 64 lower-case hex characters
	Name      string
	Version   string
	Kind      Kind
	SourceURL string
	Notes     string
	CreatedAt time.Time
}

// ParseModuleHash validates a hex SHA-256 and returns it in lower case.
func ParseModuleHash(s string) (string, error) {
	if len(s) != 64 {
		return "", Errorf(EINVALID, "module hash must be 64 hex characters, got %d", len(s))
	}
	l := strings.ToLower(s)
	for _, r := range l {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return "", Errorf(EINVALID, "module hash must be hex, found %q", r)
		}
	}
	return l, nil
}

// Validate checks m.
func (m *ModuleHash) Validate() error {
	h, err := ParseModuleHash(m.Hash)
	if err != nil {
		return err
	}
	m.Hash = h
	if m.Name == "" {
		return Errorf(EINVALID, "name is required")
	}
	if err := checkText("name", m.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("version", m.Version, 64); err != nil {
		return err
	}
	if m.Kind != "" {
		if _, err := ParseKind(string(m.Kind)); err != nil {
			return err
		}
	}
	if err := checkText("notes", m.Notes, MaxDescriptionLen); err != nil {
		return err
	}
	if m.SourceURL != "" {
		u, err := url.Parse(m.SourceURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(m.SourceURL) > 2048 {
			return Errorf(EINVALID, "source_url must be an absolute http(s) URL of at most 2048 characters")
		}
	}
	return nil
}

// Change kinds recorded in the change history.
const (
	ChangeModuleHash  = "module_hash"
	ChangeControllers = "controllers"
	// ChangeInstall is a new certified last_install_timestamp (an install, reinstall, upgrade
	// or snapshot load); Old and New are RFC 3339 times ("" where unknown).
	ChangeInstall = "install"
)

// Change is one observed change of a canister's module hash or controllers.
type Change struct {
	ID         int64
	CanisterID CanisterID
	Field      string // ChangeModuleHash, ChangeControllers or ChangeInstall
	Old        string // previous value: hex hash, or controllers joined by ","
	New        string
	ObservedAt time.Time
}
