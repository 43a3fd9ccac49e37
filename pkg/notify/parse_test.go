package notify_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"canistry/pkg/notify"
	"canistry/pkg/registry"
)

func TestParseNotification(t *testing.T) {
	const m = `"miner_id":"` + minerID + `"`
	tests := []struct {
		name    string
		body    string
		wantErr string // substring of the message; "" = valid
		event   string
		ts      uint64
		data    string
	}{
		{"OK", `{"event":"solution_found",` + m + `,"timestamp":1646456789000000000,"data":{"nonce":1}}`, "", "solution_found", 1646456789000000000, `{"nonce":1}`},
		{"UnknownEvent", `{"event":"x.y-z_1",` + m + `,"timestamp":1,"data":{}}`, "", "x.y-z_1", 1, `{}`},
		{"NoData", `{"event":"e",` + m + `,"timestamp":1}`, "", "e", 1, `{}`},
		{"NullData", `{"event":"e",` + m + `,"timestamp":1,"data":null}`, "", "e", 1, `{}`},
		{"ExtraFields", `{"event":"e",` + m + `,"timestamp":1,"data":{},"version":2}`, "", "e", 1, `{}`},
		{"MaxTimestamp", `{"event":"e",` + m + `,"timestamp":9223372036854775807}`, "", "e", math.MaxInt64, `{}`},
		{"Empty", ``, "not valid JSON", "", 0, ""},
		{"Truncated", `{"event":`, "not valid JSON", "", 0, ""},
		{"Array", `[]`, "must be a JSON object", "", 0, ""},
		{"NoEvent", `{` + m + `,"timestamp":1}`, "event is required", "", 0, ""},
		{"EventNotString", `{"event":5,` + m + `,"timestamp":1}`, "event must be a string", "", 0, ""},
		{"EventEmpty", `{"event":"",` + m + `,"timestamp":1}`, "1 to 64 characters", "", 0, ""},
		{"EventTooLong", `{"event":"` + strings.Repeat("e", 65) + `",` + m + `,"timestamp":1}`, "1 to 64 characters", "", 0, ""},
		{"EventWildcard", `{"event":"a.>",` + m + `,"timestamp":1}`, "may only contain", "", 0, ""},
		{"EventSpace", `{"event":"a b",` + m + `,"timestamp":1}`, "may only contain", "", 0, ""},
		{"EventEmptyPart", `{"event":"a..b",` + m + `,"timestamp":1}`, "empty dot-separated part", "", 0, ""},
		{"NoMiner", `{"event":"e","timestamp":1}`, "miner_id is required", "", 0, ""},
		{"BadMiner", `{"event":"e","miner_id":"aaaaa-bbbbb-ccccc-ddddd-eeeee","timestamp":1}`, "not a principal", "", 0, ""},
		{"UpperCaseMiner", `{"event":"e","miner_id":"` + strings.ToUpper(minerID) + `","timestamp":1}`, "not a principal", "", 0, ""},
		{"NoTimestamp", `{"event":"e",` + m + `}`, "timestamp is required", "", 0, ""},
		{"ZeroTimestamp", `{"event":"e",` + m + `,"timestamp":0}`, "from 1 to 2^63-1", "", 0, ""},
		{"NegativeTimestamp", `{"event":"e",` + m + `,"timestamp":-1}`, "whole number", "", 0, ""},
		{"FloatTimestamp", `{"event":"e",` + m + `,"timestamp":1.5}`, "whole number", "", 0, ""},
		{"ExpTimestamp", `{"event":"e",` + m + `,"timestamp":1e18}`, "whole number", "", 0, ""},
		{"StringTimestamp", `{"event":"e",` + m + `,"timestamp":"1"}`, "whole number", "", 0, ""},
		{"HugeTimestamp", `{"event":"e",` + m + `,"timestamp":9223372036854775808}`, "1 to 2^63-1", "", 0, ""},
		{"DataArray", `{"event":"e",` + m + `,"timestamp":1,"data":[1]}`, "data must be a JSON object", "", 0, ""},
		{"DataString", `{"event":"e",` + m + `,"timestamp":1,"data":"x"}`, "data must be a JSON object", "", 0, ""},
		{"UTF8MultiByte", `{"event":"e",` + m + `,"timestamp":1,"data":{"n":"€ 𝄞 ü"}}`, "", "e", 1, `{"n":"€ 𝄞 ü"}`},
		{"UTF8EscapedSurrogate", `{"event":"e",` + m + `,"timestamp":1,"data":{"n":"\ud800"}}`, "", "e", 1, `{"n":"\ud800"}`},
		{"InvalidUTF8Bytes", "{\"event\":\"e\"," + m + ",\"timestamp\":1,\"data\":{\"n\":\"\xff\xfe\"}}", "not valid UTF-8 (invalid byte at offset 81)", "", 0, ""},
		{"InvalidUTF8Truncated", "{\"event\":\"e\"," + m + ",\"timestamp\":1,\"data\":{\"n\":\"\xe2\x82\"}}", "not valid UTF-8 (invalid byte at offset 81)", "", 0, ""},
		{"InvalidUTF8Overlong", "{\"event\":\"e\"," + m + ",\"timestamp\":1,\"data\":{\"n\":\"\xc0\xaf\"}}", "not valid UTF-8 (invalid byte at offset 81)", "", 0, ""},
		{"InvalidUTF8Surrogate", "{\"event\":\"e\"," + m + ",\"timestamp\":1,\"data\":{\"n\":\"\xed\xa0\x80\"}}", "not valid UTF-8 (invalid byte at offset 81)", "", 0, ""},
		{"InvalidUTF8InEvent", "{\"event\":\"\x80\"," + m + ",\"timestamp\":1}", "not valid UTF-8 (invalid byte at offset 10)", "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := notify.ParseNotification([]byte(tc.body))
			if tc.wantErr != "" {
				if registry.ErrorCode(err) != registry.EINVALID || !strings.Contains(registry.ErrorMessage(err), tc.wantErr) {
					t.Fatalf("got %v, want invalid: …%s…", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Event != tc.event || n.Timestamp != tc.ts || string(n.Data) != tc.data || string(n.MinerID) != minerID {
				t.Errorf("got %+v (data %s)", n, n.Data)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	n := notify.Notification{Event: "solution_found", MinerID: minerID, Timestamp: 42}
	tests := []struct {
		header, want string
		ok           bool
	}{
		{"", minerID + ":42:solution_found", true},
		{"abc-123", "idem:abc-123", true},
		{strings.Repeat("k", notify.MaxIdempotencyKeyLen), "idem:" + strings.Repeat("k", notify.MaxIdempotencyKeyLen), true},
		{strings.Repeat("k", notify.MaxIdempotencyKeyLen+1), "", false},
		{"with space", "", false},
		{"tab\t", "", false},
	}
	for _, tc := range tests {
		got, err := notify.DedupKey(tc.header, &n)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("DedupKey(%q) = %q, %v; want %q ok=%v", tc.header, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseNotification: the parser never panics, accepts only what it documents, and is
// deterministic (the same bytes give the same answer, as every replica copy must).
func FuzzParseNotification(f *testing.F) {
	m := `"miner_id":"` + minerID + `"`
	for _, seed := range []string{
		`{"event":"solution_found",` + m + `,"timestamp":1646456789000000000,"data":{"token_id":"` + tokenID + `","block_height":12345,"nonce":67890,"hash":"000000ff","difficulty":12345678,"reward":50}}`,
		`{"event":"token_connected",` + m + `,"timestamp":1,"data":{"token_id":"` + tokenID + `","miner_id":"` + minerID + `","chunk_size":100}}`,
		`{"event":"mining_started",` + m + `,"timestamp":1,"data":null}`,
		`{"event":"a.b",` + m + `,"timestamp":9223372036854775807}`,
		`{"event":"a..b"}`, `{"timestamp":1e3}`, `{"data":[]}`, `[]`, `null`, ``, `{`, `{"event":"\u00e9"}`,
		`{"EVENT":"e","Miner_ID":"` + minerID + `","TimeStamp":7}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := notify.ParseNotification(body)
		n2, err2 := notify.ParseNotification(body)
		if registry.ErrorMessage(err) != registry.ErrorMessage(err2) || n.Event != n2.Event {
			t.Fatalf("not deterministic: %v vs %v", err, err2)
		}
		if err != nil {
			if registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			if len(registry.ErrorMessage(err)) > 400 {
				t.Fatalf("message of %d bytes", len(registry.ErrorMessage(err)))
			}
			return
		}
		if n.Event == "" || len(n.Event) > notify.MaxEventLen || strings.ContainsAny(n.Event, " *>\t") {
			t.Fatalf("accepted event %q", n.Event)
		}
		if _, err := registry.ParseCanisterID(string(n.MinerID)); err != nil {
			t.Fatalf("accepted miner %q", n.MinerID)
		}
		if n.Timestamp == 0 || n.Timestamp > math.MaxInt64 {
			t.Fatalf("accepted timestamp %d", n.Timestamp)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(n.Data, &obj); err != nil || obj == nil {
			t.Fatalf("accepted data %q", n.Data)
		}
		if _, err := notify.DedupKey("", &n); err != nil {
			t.Fatal(err)
		}
	})
}
