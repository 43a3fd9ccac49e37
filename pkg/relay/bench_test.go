package relay_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The relay's cost over calling the upstream directly on loopback, measured in one run so that
// the ratios hold on a busy machine: each iteration makes one direct call and one relay call
// (a new key, so the relay claims, calls, stores), interleaved; and one 34-copy storm through
// two relays against 34 concurrent direct calls (what the replicas would send without it).
//
//	go test ./pkg/relay -run '^$' -bench . -benchtime 2000x

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 256}}

func call(b *testing.B, method, url, key, body string) time.Duration {
	d, err := try(method, url, key, body)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func try(method, url, key, body string) (time.Duration, error) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("X-API-Key", callerKey)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	start := time.Now()
	res, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("%s %s: %d", method, url, res.StatusCode)
	}
	return time.Since(start), nil
}

func pct(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds())
}

func benchFixture(b *testing.B, backend int) *fixture {
	return newFixture(b, backends[backend].target(b), fixtureOpts{relays: 2, localDev: true})
}

// BenchmarkRelay_AddedLatency reports p50 and p99 of direct and relayed calls and their ratios.
func BenchmarkRelay_AddedLatency(b *testing.B) {
	for i, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := benchFixture(b, i)
			direct, relayed := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for n := range b.N {
				direct = append(direct, call(b, "POST", f.up.URL+"/echo", "", `{"n":1}`))
				relayed = append(relayed, call(b, "POST", "http://"+f.addrs[n%2]+"/relay/api/echo", fmt.Sprintf("lat-%d", n), `{"n":1}`))
			}
			b.StopTimer()
			b.ReportMetric(pct(direct, 0.5), "direct-p50-µs")
			b.ReportMetric(pct(relayed, 0.5), "relay-p50-µs")
			b.ReportMetric(pct(direct, 0.99), "direct-p99-µs")
			b.ReportMetric(pct(relayed, 0.99), "relay-p99-µs")
			b.ReportMetric(pct(relayed, 0.5)/pct(direct, 0.5), "p50-ratio")
			b.ReportMetric(pct(relayed, 0.99)/pct(direct, 0.99), "p99-ratio")
		})
	}
}

// BenchmarkRelay_Storm reports 34-copy storms a second through two relays (one upstream call
// each) against 34 concurrent direct calls, interleaved, and their ratio.
func BenchmarkRelay_Storm(b *testing.B) {
	for i, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := benchFixture(b, i)
			var direct, relayed time.Duration
			b.ResetTimer()
			for n := range b.N {
				direct += storm34(b, func(int) (string, string) { return f.up.URL + "/echo", "" })
				relayed += storm34(b, func(c int) (string, string) {
					return "http://" + f.addrs[c%2] + "/relay/api/echo", fmt.Sprintf("storm-%d", n)
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/direct.Seconds(), "direct-storms/s")
			b.ReportMetric(float64(b.N)/relayed.Seconds(), "relay-storms/s")
			b.ReportMetric(direct.Seconds()/relayed.Seconds(), "storms/s-ratio")
			if got := f.up.Calls("POST /echo"); got != b.N*35 {
				b.Fatalf("%d upstream calls, want %d (34 direct + 1 relayed per storm)", got, b.N*35)
			}
		})
	}
}

func storm34(b *testing.B, target func(copy int) (url, key string)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for c := range 34 {
		wg.Go(func() {
			url, key := target(c)
			if _, err := try("POST", url, key, `{"n":1}`); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
