package runtest

import (
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// MetricsText reads base's /metrics as plain text.
func MetricsText(tb testing.TB, base string) string {
	tb.Helper()
	return MetricsTextVia(tb, http.DefaultClient, base)
}

// MetricsTextVia is MetricsText through client (one that trusts a test's TLS certificate).
func MetricsTextVia(tb testing.TB, client *http.Client, base string) string {
	tb.Helper()
	res, err := client.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("/metrics: %d %v %s", res.StatusCode, err, b)
	}
	return string(b)
}

// CheckSeries fails for each wanted line (series and value) that the /metrics text lacks.
func CheckSeries(tb testing.TB, text string, want []string) {
	tb.Helper()
	for _, line := range want {
		if !strings.Contains(text, "\n"+line+"\n") {
			tb.Errorf("/metrics lacks %s", line)
		}
	}
}

// SeriesValue returns the value of the series written exactly as series (a name, with its
// labels if it has any) in the /metrics text, and fails tb when the text lacks it.
func SeriesValue(tb testing.TB, text, series string) float64 {
	tb.Helper()
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("/metrics: %s has the value %q: %v", series, v, err)
			}
			return f
		}
	}
	tb.Fatalf("/metrics lacks %s", series)
	return 0
}

// PromtoolCheck runs `promtool check metrics` (Debian's prometheus package) over text.
func PromtoolCheck(tb testing.TB, text string) {
	tb.Helper()
	cmd := exec.CommandContext(tb.Context(), Tool(tb, "promtool", "Debian's prometheus package"), "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	Run(tb, cmd)
}
