package registry

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Page limits of every list.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
	// MaxQueryLen caps the free-text search q.
	MaxQueryLen = 100
)

// Page selects one page of a list ordered by a stable key (the row's insertion order). Rows are
// fetched after (or, descending, before) the key in After, so rows inserted or deleted while a
// client pages never make it see a row twice or skip one that existed throughout.
type Page struct {
	After    int64 // 0: from the start
	AfterTie int64 // second key, for lists ordered by a non-unique key and then the row id
	Limit    int
	Desc     bool
	// WithTotal asks for the number of rows matching the filter (ignoring the page).
	WithTotal bool
}

// List is one page of a list or of a time series: its items, the position of the next page
// (nil on the last page) and, when the page asked for it, the number of rows matching the
// filter (nil otherwise, and always for lists that are never counted).
type List[T any] struct {
	Items []T
	Next  *Cursor
	Total *int64
}

// Cursor is the opaque text form of a page position handed to clients.
type Cursor struct {
	Key  int64
	Tie  int64 // second key; 0 when the list has a unique first key
	Desc bool
}

const cursorPrefix = "c1"

// String encodes c for a client.
func (c Cursor) String() string {
	dir := "a"
	if c.Desc {
		dir = "d"
	}
	s := cursorPrefix + ":" + dir + ":" + strconv.FormatInt(c.Key, 10) + ":" + strconv.FormatInt(c.Tie, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseCursor decodes a cursor made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	bad := Errorf(EINVALID, "cursor %.40q is not a cursor this server handed out", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 4 || parts[0] != cursorPrefix || (parts[1] != "a" && parts[1] != "d") {
		return Cursor{}, bad
	}
	k, err1 := strconv.ParseInt(parts[2], 10, 64)
	t, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || k < 0 || t < 0 {
		return Cursor{}, bad
	}
	return Cursor{Key: k, Tie: t, Desc: parts[1] == "d"}, nil
}

// Staleness selects rows by the age of their last successful refresh. A row is stale when it
// never refreshed successfully or its last success is before Before.
type Staleness struct {
	Want   *bool // nil: no filter; true: only stale rows; false: only fresh rows
	Before time.Time
}

// CanisterFilter selects canisters.
type CanisterFilter struct {
	Kind     Kind   // "" for any
	Tag      string // "" for any
	Verified *bool  // module hash matches a known build
	Stale    Staleness
	Query    string // substring of the id or the name, case-insensitive (ASCII)
	Badge    string // "" for any: one of BadgeNames, as the poller last stored it
	Page     Page
}

// TokenFilter selects tokens.
type TokenFilter struct {
	Stale Staleness
	Query string // substring of the id, name or symbol
	Page  Page
}

// MinerFilter selects miners.
type MinerFilter struct {
	Token  CanisterID // "" for any: the token the miner currently mines
	Mining *bool
	Stale  Staleness
	Query  string // substring of the id or the registered name
	Page   Page
}

// ModuleHashFilter selects module hashes.
type ModuleHashFilter struct {
	Kind  Kind
	Query string // substring of the hash or the name
	Page  Page
}

// Build is the known build a canister's module hash matched.
type Build struct {
	Name      string
	Version   string
	Kind      Kind
	SourceURL string
}

// CanisterRecord is a canister as listed: the registered canister, the known build its module
// hash matched (nil when unverified), and its list position.
type CanisterRecord struct {
	Canister
	Key   int64
	Build *Build
}

// Verified reports whether the canister runs a known build.
func (r *CanisterRecord) Verified() bool { return r.Build != nil }

// TokenRecord is a token as listed: what the poller read plus the registry's refresh state.
type TokenRecord struct {
	TokenInfo
	Key           int64
	RegisteredAs  string // the canister's registered name
	HasLogo       bool
	LogoMediaType string
	Refresh       RefreshState
}

// MinerRecord is a miner as listed.
type MinerRecord struct {
	MinerInfo
	Key          int64
	RegisteredAs string
	Refresh      RefreshState
}

// ModuleHashRecord is a known build as listed, with how many registered canisters run it.
type ModuleHashRecord struct {
	ModuleHash
	Key       int64
	Canisters int64
}

// StatsRange selects a miner's stats observed in [From, To], oldest first.
type StatsRange struct {
	From, To time.Time
	Page     Page
}

// Logo is a token's stored logo.
type Logo struct {
	MediaType string
	Data      []byte
	SHA256    string // hex
	UpdatedAt time.Time
}

// CanisterUpdate is a partial update of a canister's user-supplied fields; nil fields are left
// as they are.
type CanisterUpdate struct {
	Kind        *Kind
	Name        *string
	Description *string
	Tags        *[]string
}

// Empty reports whether u changes nothing.
func (u *CanisterUpdate) Empty() bool {
	return u.Kind == nil && u.Name == nil && u.Description == nil && u.Tags == nil
}

// Apply returns c with u applied, validated.
func (u *CanisterUpdate) Apply(c Canister) (Canister, error) {
	if u.Kind != nil {
		c.Kind = *u.Kind
	}
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	if u.Tags != nil {
		c.Tags = append([]string{}, (*u.Tags)...)
	}
	if err := c.Validate(); err != nil {
		return Canister{}, err
	}
	return c, nil
}
