package workflow

import (
	"strings"
	"testing"
)

func TestConditionHolds(t *testing.T) {
	tests := []struct {
		c                Condition
		output, decision string
		want             bool
	}{
		{Condition{}, "", "", true},
		{Condition{Default: true}, "x", "", true},
		{Condition{Route: "b"}, "", "b", true},
		{Condition{Route: "b"}, "b", "c", false},
		{Condition{Route: Finish}, "", Finish, true},
		{Condition{Contains: "REVISE"}, "please REVISE this", "", true},
		{Condition{Contains: "REVISE"}, "please revise this", "", false},
		{Condition{NotContains: "DONE"}, "not yet", "", true},
		{Condition{NotContains: "DONE"}, "DONE.", "", false},
		{Condition{Matches: `^\s*APPROVED`}, "\n APPROVED\nfine", "", true},
		{Condition{Matches: `^\s*APPROVED`}, "NOT APPROVED", "", false},
		{Condition{Matches: `(`}, "(", "", false},
	}
	for _, tt := range tests {
		if got := tt.c.Holds(tt.output, tt.decision); got != tt.want {
			t.Errorf("%+v.Holds(%q, %q) = %v, want %v", tt.c, tt.output, tt.decision, got, tt.want)
		}
	}
}

// TestNextReview walks the review example's reviewer edges for its three kinds of reply.
func TestNextReview(t *testing.T) {
	w := loadExamples(t)["review"]
	if w == nil {
		t.Fatal("no review example")
	}
	tests := []struct{ output, want string }{
		{"APPROVED\nA fine piece.", "end matches"},
		{"REVISE\n1. Shorten the intro.", "writer matches"},
		{"It is good, I think.", "end default"},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range w.Graph.Next("reviewer", tt.output, "") {
			kind := "always"
			if e.When.Default {
				kind = "default"
			} else if e.When.Matches != "" {
				kind = "matches"
			}
			got = append(got, e.To+" "+kind)
		}
		if strings.Join(got, ", ") != tt.want {
			t.Errorf("reviewer said %q: next %v, want %s", tt.output, got, tt.want)
		}
	}
}

func TestNextFanOut(t *testing.T) {
	g := Graph{Edges: []Edge{
		{From: "a", To: "b"},
		{From: "a", To: "c", When: Condition{Contains: "x"}},
		{From: "a", To: "d", When: Condition{Contains: "y"}},
		{From: "a", To: "e", When: Condition{Default: true}},
		{From: "z", To: "a"},
	}}
	tests := []struct{ output, want string }{
		{"x and y", "b c d"},
		{"x", "b c"},
		{"neither", "b e"},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range g.Next("a", tt.output, "") {
			got = append(got, e.To)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Next(a, %q) = %v, want %s", tt.output, got, tt.want)
		}
	}
}
