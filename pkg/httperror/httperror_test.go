package httperror_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{registry.Errorf(registry.EINVALID, "x"), 400},
		{registry.Errorf(registry.EUNAUTHORIZED, "x"), 401},
		{registry.Errorf(registry.EFORBIDDEN, "x"), 403},
		{registry.Errorf(registry.ENOTFOUND, "x"), 404},
		{registry.Errorf(registry.ECONFLICT, "x"), 409},
		{registry.Errorf(registry.ETOOLARGE, "x"), 413},
		{registry.Errorf(registry.EUNSUPPORTED, "x"), 415},
		{registry.Errorf(registry.ETOOMANY, "x"), 429},
		{registry.Errorf(registry.EUNAVAILABLE, "x"), 503},
		{registry.Errorf(registry.EINTERNAL, "x"), 500},
		{errors.New("plain"), 500},
		{fmt.Errorf("wrapped: %w", registry.Errorf(registry.ENOTFOUND, "x")), 404},
	} {
		if got := httperror.Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"Registry", registry.Errorf(registry.EINVALID, `bad "x" <y>`), `{"error":{"code":"invalid","message":"bad \"x\" \u003cy\u003e"}}`},
		{"InternalHidden", errors.New("secret path /var/lib"), `{"error":{"code":"internal","message":"internal error"}}`},
		{"InvalidUTF8Repaired", registry.Errorf(registry.EINVALID, "a\xffb"), `{"error":{"code":"invalid","message":"a` + "\ufffd" + `b"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(httperror.Encode(tc.err)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("LongMessageCapped", func(t *testing.T) {
		b := httperror.Encode(registry.Errorf(registry.EINVALID, "%s", strings.Repeat("é", 400)))
		var body httperror.Body
		if err := json.Unmarshal(b, &body); err != nil || !utf8.ValidString(body.Error.Message) {
			t.Fatalf("%s: %v", b, err)
		}
		if len(body.Error.Message) > httperror.MaxMessageLen+len("…") {
			t.Errorf("message is %d bytes", len(body.Error.Message))
		}
	})
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Stale", "1")
	httperror.Write(rec, registry.Errorf(registry.ETOOMANY, "slow down"))
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
		t.Errorf("got %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	httperror.MethodNotAllowed(rec, "PUT", http.MethodGet, http.MethodHead)
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" ||
		rec.Body.String() != `{"error":{"code":"invalid","message":"method PUT is not allowed; use GET, HEAD"}}` {
		t.Errorf("405: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
