package storetest

import (
	"slices"
	"testing"

	"github.com/agentfleet/fleet/engine/store"
)

func kvCases() []testCase {
	return []testCase{
		{"SetGetDelete", testKVBasics},
		{"Namespaces", testKVNamespaces},
		{"ListByPrefix", testKVList},
		{"ValuesAreCopied", testKVCopies},
	}
}

// kvWant fails the test unless ns/key holds want.
func kvWant(t *testing.T, s store.Store, ns, key, want string) {
	t.Helper()
	got, err := s.KVGet(t.Context(), ns, key)
	if err != nil {
		t.Errorf("KVGet(%q, %q): %v", ns, key, err)
		return
	}
	if string(got) != want {
		t.Errorf("KVGet(%q, %q) = %q, want %q", ns, key, got, want)
	}
}

func kvSet(t *testing.T, s store.Store, ns, key, value string) {
	t.Helper()
	if err := s.KVSet(t.Context(), ns, key, []byte(value)); err != nil {
		t.Fatalf("KVSet(%q, %q): %v", ns, key, err)
	}
}

func testKVBasics(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.KVGet(ctx, "p", "k")
	wantErr(t, "KVGet of a missing key", err, store.ErrNotFound)
	wantErr(t, "KVDelete of a missing key", s.KVDelete(ctx, "p", "k"), store.ErrNotFound)
	kvSet(t, s, "p", "k", "v1")
	kvWant(t, s, "p", "k", "v1")
	kvSet(t, s, "p", "k", "v2 \x00 binary \xff")
	kvWant(t, s, "p", "k", "v2 \x00 binary \xff")
	kvSet(t, s, "p", "empty", "")
	kvWant(t, s, "p", "empty", "")
	if err := s.KVDelete(ctx, "p", "k"); err != nil {
		t.Fatalf("KVDelete: %v", err)
	}
	_, err = s.KVGet(ctx, "p", "k")
	wantErr(t, "KVGet after KVDelete", err, store.ErrNotFound)
	wantErr(t, "second KVDelete", s.KVDelete(ctx, "p", "k"), store.ErrNotFound)
	kvWant(t, s, "p", "empty", "")
	kvSet(t, s, "p", "k", "v3")
	kvWant(t, s, "p", "k", "v3")
}

func testKVNamespaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Pairs that collide if a backend joins namespace and key naively.
	entries := [][3]string{
		{"a", "k", "a.k"}, {"b", "k", "b.k"},
		{"a", "b/k", "a.b/k"}, {"a/b", "k", "a/b.k"},
		{"a", "b:k", "a.b:k"}, {"a:b", "k", "a:b.k"},
		{"a", "bk", "a.bk"}, {"ab", "k", "ab.k"},
	}
	for _, e := range entries {
		kvSet(t, s, e[0], e[1], e[2])
	}
	for _, e := range entries {
		kvWant(t, s, e[0], e[1], e[2])
	}
	for ns, want := range map[string][]string{"a": {"b/k", "b:k", "bk", "k"}, "b": {"k"},
		"a/b": {"k"}, "a:b": {"k"}, "ab": {"k"}, "c": nil} {
		got, err := s.KVList(ctx, ns, "")
		if err != nil {
			t.Fatalf("KVList(%q): %v", ns, err)
		}
		slices.Sort(got)
		equalStrings(t, "KVList("+ns+")", got, want)
	}
	if err := s.KVDelete(ctx, "a", "k"); err != nil {
		t.Fatalf("KVDelete: %v", err)
	}
	kvWant(t, s, "b", "k", "b.k")
	kvWant(t, s, "a/b", "k", "a/b.k")
}

func testKVList(t *testing.T, s store.Store) {
	keys := []string{"p", "p/1", "p/2", "p/2/x", "p%", "p_", "p*", "p[", "pa", "P/1", "o", "q", "é/1", "é"}
	for _, k := range keys {
		kvSet(t, s, "ns", k, "v")
	}
	kvSet(t, s, "other", "p/3", "v")
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", keys},
		{"p/", []string{"p/1", "p/2", "p/2/x"}},
		{"p/2", []string{"p/2", "p/2/x"}},
		{"p", []string{"p", "p/1", "p/2", "p/2/x", "p%", "p_", "p*", "p[", "pa"}},
		{"p%", []string{"p%"}},
		{"p_", []string{"p_"}},
		{"p*", []string{"p*"}},
		{"p[", []string{"p["}},
		{"P", []string{"P/1"}},
		{"é", []string{"é/1", "é"}},
		{"p/3", nil},
		{"zz", nil},
	} {
		got, err := s.KVList(t.Context(), "ns", tc.prefix)
		if err != nil {
			t.Fatalf("KVList(%q): %v", tc.prefix, err)
		}
		want := slices.Clone(tc.want)
		slices.Sort(got)
		slices.Sort(want)
		equalStrings(t, "KVList(ns, "+tc.prefix+")", got, want)
	}
}

func testKVCopies(t *testing.T, s store.Store) {
	v := []byte("original")
	if err := s.KVSet(t.Context(), "p", "k", v); err != nil {
		t.Fatalf("KVSet: %v", err)
	}
	copy(v, "CHANGED!")
	kvWant(t, s, "p", "k", "original")
	got, err := s.KVGet(t.Context(), "p", "k")
	if err != nil {
		t.Fatalf("KVGet: %v", err)
	}
	copy(got, "mutated!")
	kvWant(t, s, "p", "k", "original")
}
