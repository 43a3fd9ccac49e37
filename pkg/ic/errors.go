package ic

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid"
)

// Replica error codes that mean "there is no such thing to call".
var notFoundErrorCodes = map[string]string{
	"IC0301": "canister not found",
	"IC0536": "method not found",
	"IC0537": "canister is empty (no Wasm module)",
}

// callError maps an error from a query. Rejects keep their code and message (as a
// *registry.RejectError cause): destination-invalid rejects (code 3: no such canister, method
// or module) become not_found, the rest unavailable. Transport failures are unavailable.
func callError(ctx context.Context, id registry.CanisterID, method string, err error) error {
	rej, ok := asReject(err)
	if !ok {
		return transportError(ctx, fmt.Sprintf("canister %s: %s", id, method), err)
	}
	code := registry.EUNAVAILABLE
	msg := fmt.Sprintf("canister %s: %s rejected: %s", id, method, rej)
	if what, ok := notFoundErrorCodes[rej.ErrorCode]; ok || rej.Code == 3 {
		code = registry.ENOTFOUND
		if what == "" {
			what = "destination invalid"
		}
		msg = fmt.Sprintf("canister %s: %s: %s (%s)", id, method, what, rej)
	}
	return registry.WrapError(code, msg, rej)
}

// asReject recognises agent-go's reject error. agent-go v0.9.2 returns rejects as an
// unexported struct (preprocessingError) with exported fields RejectCode, Message and
// ErrorCode; errors.As cannot name it, so its fields are read by reflection (no string
// parsing).
func asReject(err error) (*registry.RejectError, bool) {
	if rej := (*registry.RejectError)(nil); errors.As(err, &rej) {
		return rej, true
	}
	for e := err; e != nil; {
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && v.Type().PkgPath() == "github.com/aviate-labs/agent-go" {
			code, msg, ec := v.FieldByName("RejectCode"), v.FieldByName("Message"), v.FieldByName("ErrorCode")
			if code.IsValid() && code.Kind() == reflect.Uint64 && msg.Kind() == reflect.String && ec.Kind() == reflect.String {
				return &registry.RejectError{Code: code.Uint(), Message: msg.String(), ErrorCode: ec.String()}, true
			}
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return nil, false
		}
		e = u.Unwrap()
	}
	return nil, false
}

// agent-go formats non-200 HTTP answers as "(404) 404 Not Found: body".
var httpStatusRE = regexp.MustCompile(`^\((\d{3})\) \d{3} `)

// httpStatus finds agent-go's HTTP error in err's chain (it may be wrapped with context).
func httpStatus(err error) (int, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if m := httpStatusRE.FindStringSubmatch(e.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n, true
		}
	}
	return 0, false
}

// decodeError reports a reply that does not decode into the expected Go values, naming the
// method, the Candid types the canister sent, and the Go types expected.
func decodeError(id registry.CanisterID, method string, raw []byte, out []any, err error) error {
	got := "not valid Candid"
	if types, _, derr := candid.Decode(raw); derr == nil {
		s := make([]string, len(types))
		for i, t := range types {
			s[i] = t.String()
		}
		got = "(" + strings.Join(s, ", ") + ")"
	}
	want := make([]string, len(out))
	for i, o := range out {
		want[i] = fmt.Sprintf("%T", o)
	}
	return registry.WrapError(registry.EUNSUPPORTED,
		fmt.Sprintf("canister %s: %s reply %s does not decode into (%s): %v", id, method, got, strings.Join(want, ", "), err), err)
}
