package runtest

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// MetricsText reads base's /metrics as plain text.
func MetricsText(tb testing.TB, base string) string {
	tb.Helper()
	res, err := http.Get(base + "/metrics")
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

// PromtoolCheck runs `promtool check metrics` (Debian's prometheus package) over text.
func PromtoolCheck(tb testing.TB, text string) {
	tb.Helper()
	cmd := exec.CommandContext(tb.Context(), Tool(tb, "promtool", "Debian's prometheus package"), "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	Run(tb, cmd)
}
