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

// TestReviewLoopOfflineReplies walks review.yaml with the replies the offline model gives a
// reviewer (host/offline/README.md, rule 4): one revision, then approval, then end.
func TestReviewLoopOfflineReplies(t *testing.T) {
	w := loadExamples(t)["review"]
	if w == nil {
		t.Fatal("no review example")
	}
	replies := map[string][]string{
		"writer":   {"As the writer: here is my response.", "As the writer: here is my response."},
		"reviewer": {`REVISE: make "As the writer: here is my response." more specific and add one concrete example.`, "APPROVED: the revision addresses the feedback."},
	}
	var path []string
	node, visits := w.Graph.Start[0], map[string]int{}
	for node != End && len(path) < 10 {
		path = append(path, node)
		out := replies[node][visits[node]]
		visits[node]++
		next := w.Graph.Next(node, out, "")
		if len(next) != 1 {
			t.Fatalf("after %s said %q: %d edges taken, want 1", node, out, len(next))
		}
		node = next[0].To
	}
	if got := strings.Join(path, " "); got != "writer reviewer writer reviewer" {
		t.Errorf("path %s", got)
	}
}
