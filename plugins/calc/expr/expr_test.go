package expr

import (
	"errors"
	"math"
	"testing"
)

// FuzzEvaluate checks that any input gives a finite number or an *Error, never a panic.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"17*23", "2^3^2", "-(1.5e3 % 7)/sqrt(pi)", "min(1,max(2,3),round(e,2))", "((", "1e", "--", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Evaluate(s)
		var ee *Error
		switch {
		case err != nil && !errors.As(err, &ee):
			t.Fatalf("Evaluate(%q): error of type %T", s, err)
		case err != nil && (ee.code == "" || ee.pos < 0 || ee.pos > len(s)+1):
			t.Fatalf("Evaluate(%q): bad error %+v", s, ee)
		case err == nil && (math.IsNaN(v) || math.IsInf(v, 0)):
			t.Fatalf("Evaluate(%q) = %v", s, v)
		}
	})
}
