package registry

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aviate-labs/agent-go/principal"
)

// CanisterID is the canonical text form of a principal (lower case, dashed groups of five,
// CRC32 checksum). Construct one with ParseCanisterID.
type CanisterID string

// MaxPrincipalBytes is the longest raw principal the IC allows.
const MaxPrincipalBytes = 29

// ParseCanisterID validates s as principal text, including its CRC32 checksum, and returns it in
// canonical form. Non-canonical spellings (upper case) are rejected so that one canister has
// exactly one key.
func ParseCanisterID(s string) (CanisterID, error) {
	if s == "" {
		return "", Errorf(EINVALID, "canister id is required")
	}
	if len(s) > 63 {
		return "", Errorf(EINVALID, "canister id %.20q… is too long to be a principal", s)
	}
	p, err := principal.Decode(s)
	if err != nil {
		// agent-go appends the decoded raw bytes to some errors ("invalid checksum: <bytes>");
		// keep only the reason, which is text.
		reason, _, _ := strings.Cut(err.Error(), ":")
		return "", Errorf(EINVALID, "canister id %q is not valid principal text: %s", s, reason)
	}
	if len(p.Raw) > MaxPrincipalBytes {
		return "", Errorf(EINVALID, "canister id %q is longer than %d bytes", s, MaxPrincipalBytes)
	}
	if enc := p.Encode(); enc != s {
		return "", Errorf(EINVALID, "canister id %q is not in canonical form (expected %q)", s, enc)
	}
	return CanisterID(s), nil
}

// Principal returns the decoded principal. It panics only if id was not built by ParseCanisterID.
func (id CanisterID) Principal() principal.Principal {
	p, err := principal.Decode(string(id))
	if err != nil {
		panic(fmt.Sprintf("registry: invalid CanisterID %q: %v", string(id), err))
	}
	return p
}

// String returns the principal text.
func (id CanisterID) String() string { return string(id) }

// Kind says what a canister is, which decides what the poller reads from it.
type Kind string

// Canister kinds.
const (
	KindToken  Kind = "token"
	KindMiner  Kind = "miner"
	KindWallet Kind = "wallet"
	KindOther  Kind = "other"
)

// Kinds lists every valid Kind.
var Kinds = []Kind{KindToken, KindMiner, KindWallet, KindOther}

// ParseKind validates a kind name.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds, k) {
		return "", Errorf(EINVALID, "kind %q is not one of token, miner, wallet, other", s)
	}
	return k, nil
}

// Limits on user-supplied canister fields.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 2000
	MaxTags           = 20
	MaxTagLen         = 40
)

// Canister is a registered canister and what the poller last learned about it in general.
type Canister struct {
	ID          CanisterID
	Kind        Kind
	Name        string
	Description string
	Tags        []string
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// ModuleHash is the hex SHA-256 of the installed Wasm module; empty for an empty canister or
	// before the first successful read.
	ModuleHash  string
	Controllers []string
	// CanisterCreatedAt and LastInstalledAt are the certified canister_creation_timestamp and
	// last_install_timestamp (interface spec 0.66.0) as last read; nil where not certified.
	CanisterCreatedAt *time.Time
	LastInstalledAt   *time.Time
	// StatusRetryAt is when the poller next asks for the status of a canister whose status the
	// IC refused to show (not public); nil when it is not known to be private.
	StatusRetryAt *time.Time

	Refresh RefreshState
}

// RefreshState is the poller's bookkeeping for one canister.
type RefreshState struct {
	LastAttemptAt       *time.Time
	LastSuccessAt       *time.Time
	LastError           string
	ConsecutiveFailures int
	NextAttemptAt       time.Time
}

// Validate checks the user-supplied fields of c.
func (c *Canister) Validate() error {
	if _, err := ParseCanisterID(string(c.ID)); err != nil {
		return err
	}
	if _, err := ParseKind(string(c.Kind)); err != nil {
		return err
	}
	if err := checkText("name", c.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("description", c.Description, MaxDescriptionLen); err != nil {
		return err
	}
	return ValidateTags(c.Tags)
}

// ValidateTags checks a tag list: at most MaxTags, each 1..MaxTagLen of [a-z0-9._:-] (':' for namespaces such as
// discovery's sns:<root id>), no repeats.
func ValidateTags(tags []string) error {
	if len(tags) > MaxTags {
		return Errorf(EINVALID, "at most %d tags are allowed, got %d", MaxTags, len(tags))
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t == "" || len(t) > MaxTagLen {
			return Errorf(EINVALID, "tag %q must be 1 to %d characters", t, MaxTagLen)
		}
		for _, r := range t {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
				return Errorf(EINVALID, "tag %q may contain only a-z, 0-9, '.', '_', ':' and '-'", t)
			}
		}
		if seen[t] {
			return Errorf(EINVALID, "tag %q is repeated", t)
		}
		seen[t] = true
	}
	return nil
}

func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(EINVALID, "%s is %d characters long; the limit is %d", field, n, max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
		return Errorf(EINVALID, "%s contains control characters", field)
	}
	return nil
}

// Stale reports whether the canister's data is older than maxAge at now (never refreshed
// counts as stale).
func (c *Canister) Stale(now time.Time, maxAge time.Duration) bool {
	return c.Refresh.LastSuccessAt == nil || now.Sub(*c.Refresh.LastSuccessAt) > maxAge
}
