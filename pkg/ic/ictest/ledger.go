package ictest

import (
	"bytes"
	"fmt"
	"math/big"
	"sync"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// Account is an ICRC-1 account: record { owner : principal; subaccount : opt blob }.
type Account struct {
	Owner      principal.Principal `ic:"owner"`
	Subaccount *[]byte             `ic:"subaccount"`
}

// Value is an ICRC-1 metadata value: variant { Nat; Int; Text; Blob }. Set exactly one field.
type Value struct {
	Nat  *idl.Nat `ic:"Nat,variant"`
	Int  *idl.Int `ic:"Int,variant"`
	Text *string  `ic:"Text,variant"`
	Blob *[]byte  `ic:"Blob,variant"`
}

// MetadataEntry is one element of icrc1_metadata: record { text; Value }.
type MetadataEntry struct {
	Key   string `ic:"0,tuple"`
	Value Value  `ic:"1,tuple"`
}

// TextValue, NatValue, IntValue and BlobValue build metadata values.
func TextValue(s string) Value { return Value{Text: &s} }

// NatValue is a Nat metadata value.
func NatValue(n *big.Int) Value { v := idl.NewBigNat(n); return Value{Nat: &v} }

// IntValue is an Int metadata value.
func IntValue(n *big.Int) Value { v := idl.NewBigInt(n); return Value{Int: &v} }

// BlobValue is a Blob metadata value.
func BlobValue(b []byte) Value { return Value{Blob: &b} }

// Standard is an entry of icrc1_supported_standards.
type Standard struct {
	Name string `ic:"name"`
	URL  string `ic:"url"`
}

// LedgerInfo is what an ICRC-1 ledger reports. Nil big integers read as zero.
type LedgerInfo struct {
	Name           string
	Symbol         string
	Decimals       uint8
	Fee            *big.Int
	TotalSupply    *big.Int
	Logo           string   // icrc1:logo in the metadata; "" for none
	MintingAccount *Account // nil: icrc1_minting_account returns null
	Standards      []Standard
	ExtraMetadata  []MetadataEntry // appended after the standard icrc1:* entries
	// ICRC10 serves icrc10_supported_standards (the same list as Standards); false leaves the
	// method out, as ledgers older than ICRC-10 do.
	ICRC10 bool
	// IndexPrincipal, when set, serves ICRC-106: icrc106_get_index_principal answers Ok with it
	// and the metadata holds icrc106:index_principal. Nil: the method answers
	// Err IndexPrincipalNotSet when Standards lists ICRC-106, and is absent otherwise.
	IndexPrincipal *principal.Principal
}

// Ledger is a ready-made ICRC-1 ledger. Its values can be changed while it serves.
type Ledger struct {
	mu       sync.Mutex
	info     LedgerInfo
	balances map[string]*big.Int // by owner raw bytes (default subaccount only)
}

// NewLedger returns a ledger reporting info.
func NewLedger(info LedgerInfo) *Ledger {
	return &Ledger{info: info, balances: make(map[string]*big.Int)}
}

// SetInfo replaces what the ledger reports.
func (l *Ledger) SetInfo(info LedgerInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.info = info
}

// SetBalance sets the balance of owner's default account.
func (l *Ledger) SetBalance(owner principal.Principal, amount *big.Int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.balances[string(owner.Raw)] = amount
}

func (l *Ledger) snapshot() LedgerInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

func nat(n *big.Int) idl.Nat {
	if n == nil {
		return idl.NewNat(uint8(0))
	}
	return idl.NewBigNat(n)
}

// Install adds the icrc1_* query methods to c.
func (l *Ledger) Install(c *Canister) {
	one := func(f func(LedgerInfo) any) Handler {
		return func([]byte) ([]any, error) { return []any{f(l.snapshot())}, nil }
	}
	c.Handle("icrc1_name", one(func(i LedgerInfo) any { return i.Name }))
	c.Handle("icrc1_symbol", one(func(i LedgerInfo) any { return i.Symbol }))
	c.Handle("icrc1_decimals", one(func(i LedgerInfo) any { return i.Decimals }))
	c.Handle("icrc1_fee", one(func(i LedgerInfo) any { return nat(i.Fee) }))
	c.Handle("icrc1_total_supply", one(func(i LedgerInfo) any { return nat(i.TotalSupply) }))
	c.Handle("icrc1_minting_account", one(func(i LedgerInfo) any { return i.MintingAccount }))
	c.Handle("icrc1_supported_standards", one(func(i LedgerInfo) any {
		return append([]Standard{}, i.Standards...)
	}))
	c.Handle("icrc1_metadata", one(func(i LedgerInfo) any { return metadata(i) }))
	c.Handle("icrc10_supported_standards", l.icrc10)
	c.Handle("icrc106_get_index_principal", l.icrc106)
	c.Handle("icrc1_balance_of", l.balanceOf)
}

func metadata(i LedgerInfo) []MetadataEntry {
	md := []MetadataEntry{
		{Key: "icrc1:name", Value: TextValue(i.Name)},
		{Key: "icrc1:symbol", Value: TextValue(i.Symbol)},
		{Key: "icrc1:decimals", Value: NatValue(big.NewInt(int64(i.Decimals)))},
		{Key: "icrc1:fee", Value: NatValue(nat(i.Fee).BigInt())},
	}
	if i.Logo != "" {
		md = append(md, MetadataEntry{Key: "icrc1:logo", Value: TextValue(i.Logo)})
	}
	if i.IndexPrincipal != nil {
		md = append(md, MetadataEntry{Key: "icrc106:index_principal", Value: TextValue(i.IndexPrincipal.Encode())})
	}
	return append(md, i.ExtraMetadata...)
}

func (l *Ledger) balanceOf(arg []byte) ([]any, error) {
	var acct Account
	if err := candid.Unmarshal(arg, []any{&acct}); err != nil {
		return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503",
			Message: fmt.Sprintf("failed to decode call arguments: %v", err)}
	}
	if acct.Subaccount != nil && !bytes.Equal(*acct.Subaccount, make([]byte, 32)) {
		return []any{nat(nil)}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return []any{nat(l.balances[string(acct.Owner.Raw)])}, nil
}

// noSuchMethod is the reject of a method the canister does not export.
func noSuchMethod(method string) *Reject {
	return &Reject{Code: RejectDestinationInvalid, ErrorCode: "IC0536",
		Message: fmt.Sprintf("Canister has no query method '%s'.", method)}
}

// icrc10 answers icrc10_supported_standards : () -> (vec record { name : text; url : text })
// query (ICRC-10), when the ledger serves it.
func (l *Ledger) icrc10([]byte) ([]any, error) {
	i := l.snapshot()
	if !i.ICRC10 {
		return nil, noSuchMethod("icrc10_supported_standards")
	}
	return []any{append([]Standard{}, i.Standards...)}, nil
}

// indexPrincipalError is ICRC-106's GetIndexPrincipalError.
type indexPrincipalError struct {
	IndexPrincipalNotSet *idl.Null `ic:"IndexPrincipalNotSet,variant"`
	GenericError         *struct {
		ErrorCode   idl.Nat `ic:"error_code"`
		Description string  `ic:"description"`
	} `ic:"GenericError,variant"`
}

// indexPrincipalResult is ICRC-106's GetIndexPrincipalResult.
type indexPrincipalResult struct {
	Ok  *principal.Principal `ic:"Ok,variant"`
	Err *indexPrincipalError `ic:"Err,variant"`
}

// icrc106 answers icrc106_get_index_principal : () -> (GetIndexPrincipalResult) query
// (dfinity/ICRC ICRCs/ICRC-106/ICRC-106.md).
func (l *Ledger) icrc106([]byte) ([]any, error) {
	i := l.snapshot()
	if i.IndexPrincipal != nil {
		p := *i.IndexPrincipal
		return []any{indexPrincipalResult{Ok: &p}}, nil
	}
	for _, s := range i.Standards {
		if s.Name == "ICRC-106" {
			return []any{indexPrincipalResult{Err: &indexPrincipalError{IndexPrincipalNotSet: &idl.Null{}}}}, nil
		}
	}
	return nil, noSuchMethod("icrc106_get_index_principal")
}
