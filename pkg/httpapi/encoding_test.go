package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"canistry/pkg/notify"
)

// rawClient does not ask for gzip by itself nor decode it, so tests see the bytes on the wire.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// wireGet sends method path with header pairs and returns the reply with its raw body.
func wireGet(t *testing.T, method, url string, header ...string) apiReply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiReply{Status: res.StatusCode, Header: res.Header, Body: body}
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestEncoding_Gzip: JSON reads of 1 KiB or more are gzipped exactly when Accept-Encoding
// allows it; small replies, logos and errors stay as they are; Vary is on every JSON read.
func TestEncoding_Gzip(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a) // five canisters, a token with a logo
	plain := wireGet(t, "GET", a.URL+"/canisters?limit=4")
	if plain.Status != http.StatusOK || len(plain.Body) < 1024 {
		t.Fatalf("list: %d, %d bytes; want 200 and at least 1 KiB", plain.Status, len(plain.Body))
	}
	for _, tc := range []struct {
		name, path, accept string
		gzipped            bool
	}{
		{"Gzip", "/canisters?limit=4", "gzip", true},
		{"GzipAmongOthers", "/canisters?limit=4", "br;q=1.0, gzip;q=0.5, deflate", true},
		{"Star", "/canisters?limit=4", "*", true},
		{"RefusedByQ", "/canisters?limit=4", "gzip;q=0, *;q=1", false},
		{"OnlyBrotli", "/canisters?limit=4", "br", false},
		{"NotAsked", "/canisters?limit=4", "", false},
		{"SmallStaysPlain", "/healthz", "gzip", false},
		{"LogoNever", "/tokens/" + string(idLedger) + "/logo", "gzip", false},
		{"ErrorStaysPlain", "/canisters/" + string(idNone), "gzip", false},
		{"Document", "/openapi.json", "gzip", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wireGet(t, "GET", a.URL+tc.path, "Accept-Encoding", tc.accept)
			if got := r.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip: %v", r.Header.Get("Content-Encoding"), tc.gzipped)
			}
			if cl := r.Header.Get("Content-Length"); r.Header.Get("Content-Type") == "application/json" && cl != strconv.Itoa(len(r.Body)) {
				t.Errorf("Content-Length %s, body %d bytes", cl, len(r.Body))
			}
			isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
			if vary := strings.Join(r.Header.Values("Vary"), ","); isJSON != strings.Contains(vary, "Accept-Encoding") {
				t.Errorf("Vary %q on a reply of type %q", vary, r.Header.Get("Content-Type"))
			}
			if tc.gzipped && tc.path == "/canisters?limit=4" {
				if got := gunzip(t, r.Body); !bytes.Equal(got, plain.Body) {
					t.Errorf("gunzipped body differs from the plain one")
				}
				if r.Header.Get("ETag") != plain.Header.Get("ETag") {
					t.Errorf("ETag gzip %s, plain %s: want one validator for both", r.Header.Get("ETag"), plain.Header.Get("ETag"))
				}
			}
			if tc.name == "ErrorStaysPlain" && (r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found") {
				t.Errorf("error reply %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestEncoding_ETag: every 200 JSON read has an ETag; If-None-Match with it is 304 with no body
// (from the handler or the read cache, GET and HEAD), until the data changes; errors are never 304.
func TestEncoding_ETag(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	one := "/canisters/" + string(idLedger)
	first := wireGet(t, "GET", a.URL+one)
	etag := first.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("ETag %q, want a weak validator", etag)
	}
	if r := a.do("GET", one, nil, "If-None-Match", etag); r.Status != http.StatusNotModified { // the 304 as documented
		t.Fatalf("If-None-Match through the validating client: %d", r.Status)
	}
	logo := wireGet(t, "GET", a.URL+"/tokens/"+string(idLedger)+"/logo")
	for _, tc := range []struct {
		name, method, path, inm string
		want                    int
	}{
		{"Match", "GET", one, etag, http.StatusNotModified},
		{"MatchAgainFromCache", "GET", one, etag, http.StatusNotModified},
		{"MatchInList", "GET", one, `"other", ` + etag, http.StatusNotModified},
		{"StrongFormMatchesWeakly", "GET", one, strings.TrimPrefix(etag, "W/"), http.StatusNotModified},
		{"Star", "GET", one, "*", http.StatusNotModified},
		{"Head", "HEAD", one, etag, http.StatusNotModified},
		{"Other", "GET", one, `W/"other"`, http.StatusOK},
		{"LogoFromCache", "GET", "/tokens/" + string(idLedger) + "/logo", logo.Header.Get("ETag"), http.StatusNotModified},
		{"ErrorNever304", "GET", "/canisters/" + string(idNone), "*", http.StatusNotFound},
		{"BadQueryNever304", "GET", "/canisters?bogus=1", "*", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wireGet(t, tc.method, a.URL+tc.path, "If-None-Match", tc.inm)
			if r.Status != tc.want {
				t.Fatalf("%s %s If-None-Match %s: %d %s, want %d", tc.method, tc.path, tc.inm, r.Status, r.Body, tc.want)
			}
			switch r.Status {
			case http.StatusNotModified:
				if len(r.Body) != 0 || r.Header.Get("ETag") == "" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
					t.Errorf("304 with %d body bytes, ETag %q, CORS %q", len(r.Body), r.Header.Get("ETag"), r.Header.Get("Access-Control-Allow-Origin"))
				}
			case http.StatusOK:
				if r.Header.Get("ETag") != etag {
					t.Errorf("ETag changed without a change: %s, want %s", r.Header.Get("ETag"), etag)
				}
			default:
				if r.ErrorCode(t) == "" {
					t.Errorf("error without the error shape: %s", r.Body)
				}
			}
		})
	}
	if r := a.admin("PUT", one, `{"description":"changed"}`); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	after := wireGet(t, "GET", a.URL+one, "If-None-Match", etag)
	if after.Status != http.StatusOK || after.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s (was %s); want 200 and a new ETag", after.Status, after.Header.Get("ETag"), etag)
	}
}

// TestEncoding_NextLink: a paged reply with a next page says so in Link; following the links
// walks the whole list (or stats series) and the last page has none.
func TestEncoding_NextLink(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a) // two tokens among five canisters; five stats points of idMiner
	for _, tc := range []struct {
		name, first, items, keep string
		want                     int
	}{
		{"Miners", "/canisters?limit=1&kind=miner&order=asc", "items", "kind=miner", 2},
		{"Tokens", "/canisters?limit=1&kind=token&order=desc", "items", "kind=token", 2},
		{"Everything", "/canisters?limit=2", "items", "limit=2", 5},
		{"StatsSeries", "/miners/" + string(idMiner) + "/stats?from=2025-03-01T11:00:00Z&limit=2", "series", "from=2025-03-01T11", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, seen := tc.first, 0
			for page := 0; next != ""; page++ {
				r := a.do("GET", next, nil)
				var reply map[string]json.RawMessage
				r.JSON(t, &reply)
				var items []json.RawMessage
				var cursor *string
				if err := json.Unmarshal(reply[tc.items], &items); err != nil {
					t.Fatalf("page %d: %s: %v", page, tc.items, err)
				}
				if raw, ok := reply["next_cursor"]; ok { // the stats reply leaves it out on the last page
					if err := json.Unmarshal(raw, &cursor); err != nil {
						t.Fatal(err)
					}
				}
				seen += len(items)
				link := r.Header.Get("Link")
				if cursor == nil {
					if link != "" {
						t.Errorf("last page has Link %q", link)
					}
					break
				}
				target, ok := strings.CutPrefix(link, "<")
				target, rel, ok2 := strings.Cut(target, ">; ")
				if !ok || !ok2 || rel != `rel="next"` || !strings.Contains(target, tc.keep) || !strings.Contains(target, "cursor="+*cursor) {
					t.Fatalf("page %d: Link %q, want this query with cursor=%s", page, link, *cursor)
				}
				next = target
			}
			if seen != tc.want {
				t.Errorf("walked %d by Link, want %d", seen, tc.want)
			}
		})
	}
}

// TestEncoding_NotOnOutcalls: outcall replies and everything else outside gin keep their bytes:
// the notifier's intake through the notifier's router, and the api's proxy in front of it.
func TestEncoding_NotOnOutcalls(t *testing.T) {
	big := `{"status":"received","pad":"` + strings.Repeat("x", 4096) + `"}`
	intake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		_, _ = io.WriteString(w, big)
	})
	_, nd := newTestNotifier(t)
	nd.Intake = intake
	h, err := notify.NewHandler(nd)
	if err != nil {
		t.Fatal(err)
	}
	notifier := httptest.NewServer(h)
	t.Cleanup(notifier.Close)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, notifier.URL)})
	request := "POST /miner-notifications HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
	direct := apiRawExchange(t, apiHost(t, notifier.URL), request)
	proxied := apiRawExchange(t, apiHost(t, a.URL), request)
	if !bytes.Equal(direct, proxied) {
		t.Errorf("proxied reply differs from the notifier's:\n%q\n%q", proxied, direct)
	}
	if bytes.Contains(direct, []byte("Content-Encoding")) || bytes.Contains(direct, []byte("Vary")) || !bytes.HasSuffix(direct, []byte(big)) {
		t.Errorf("outcall reply was changed:\n%.300q", direct)
	}
	var status map[string]any
	r := wireGet(t, "GET", notifier.URL+"/ws-status", "Accept-Encoding", "gzip")
	if err := json.Unmarshal(r.Body, &status); err != nil || r.Status != http.StatusOK {
		t.Errorf("/ws-status: %d %s", r.Status, r.Body)
	}
}
