package policy

import (
	"strings"
	"testing"
	"time"
)

// TestLongInputs: pathological inputs finish (a quadratic blow-up would hit the test timeout);
// durations are logged, not judged.
func TestLongInputs(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("(", 20000) + "1+2",
		strings.Repeat("1+", 20000),
		strings.Repeat("multiplied ", 10000),
		strings.Repeat("x 1 ", 10000),
		strings.Repeat("https://a.b/ ", 5000),
		strings.Repeat("tokyo ", 5000),
	} {
		t0 := time.Now()
		Expressions(s)
		TimeZone(s)
		Decide(Request{Messages: []Message{{Role: RoleUser, Content: s}}, Tools: workTools})
		t.Logf("%d bytes starting %q: %v", len(s), s[:20], time.Since(t0))
	}
}
