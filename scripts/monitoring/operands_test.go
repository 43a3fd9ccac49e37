package monitoring_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// operands splits a PromQL expression at its top-level comparison and set operators (==, !=,
// >, <, >=, <=, and, or, unless), dropping their modifiers (bool, on(…), ignoring(…),
// group_left(…), group_right(…)). An alert's expression returns nothing while it does not fire,
// so the test requires data from each operand instead: `rate(x[5m]) > 0` has data only when x
// is scraped, whatever its value. Operators inside parentheses, brackets, braces and strings
// stay in their operand.
func operands(expr string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			quote = c
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
			continue
		case c == ')' || c == ']' || c == '}':
			depth--
			continue
		}
		if depth != 0 {
			continue
		}
		if n := operatorAt(expr, i); n > 0 {
			out = append(out, expr[start:i])
			i += n
			i += modifiersAt(expr, i)
			start = i
			i--
		}
	}
	out = append(out, expr[start:])
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

var (
	keywordOp = regexp.MustCompile(`^(and|or|unless)\b`)
	modifier  = regexp.MustCompile(`^\s*(bool\b|(on|ignoring|group_left|group_right)\s*\([^)]*\))`)
)

// operatorAt returns the length of the comparison or set operator at expr[i:], or 0.
func operatorAt(expr string, i int) int {
	rest := expr[i:]
	for _, op := range []string{"==", "!=", ">=", "<=", ">", "<"} {
		if strings.HasPrefix(rest, op) {
			return len(op)
		}
	}
	if i > 0 && isIdent(expr[i-1]) {
		return 0 // inside a name: "random" is not "and"
	}
	if m := keywordOp.FindString(rest); m != "" {
		return len(m)
	}
	return 0
}

func modifiersAt(expr string, i int) int {
	n := 0
	for {
		m := modifier.FindString(expr[i+n:])
		if m == "" {
			return n
		}
		n += len(m)
	}
}

func isIdent(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func TestOperands(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job=~"canistry-.*"} == 0`, []string{`up{job=~"canistry-.*"}`, `0`}},
		{`a - b > 3 * c`, []string{`a - b`, `3 * c`}},
		{`increase(a[15m]) > 0 unless increase(b[15m]) > 0`, []string{`increase(a[15m])`, `0`, `increase(b[15m])`, `0`}},
		{`sum by (job) (rate(x{code=~"5..", route!="/a"}[5m])) > bool 0`, []string{`sum by (job) (rate(x{code=~"5..", route!="/a"}[5m]))`, `0`}},
		{`a > on(instance) group_left(version) b`, []string{`a`, `b`}},
		{`random_metric + operand_x`, []string{`random_metric + operand_x`}},
		{`x{l="a > b and c"} or y`, []string{`x{l="a > b and c"}`, `y`}},
		{`histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`, []string{`histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`}},
	}
	for _, tt := range tests {
		if got := operands(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("operands(%s) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}
