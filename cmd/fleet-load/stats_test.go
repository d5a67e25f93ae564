package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []int64, p float64) int64 {
	return sorted[rank(p, uint64(len(sorted)))-1]
}

func TestHistBuckets(t *testing.T) {
	prev := histBucket(0)
	for v := int64(1); v < 1<<17; v++ {
		if b := histBucket(v); b != prev && b != prev+1 {
			t.Fatalf("bucket of %d is %d after %d: not contiguous", v, b, prev)
		} else {
			prev = b
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		v := r.Int64N(1 << 40)
		mid := histValue(histBucket(v))
		if rel := math.Abs(float64(mid-v)) / float64(max(v, 1)); rel > 1.0/histSubCount {
			t.Fatalf("value %d stands for %d: %.4f off", v, mid, rel)
		}
	}
	for v := range int64(histSubCount) {
		if histValue(histBucket(v)) != v {
			t.Fatalf("small value %d is not exact", v)
		}
	}
}

func TestSignedHistPercentiles(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"uniform positive µs", func(r *rand.Rand) int64 { return r.Int64N(5_000_000) }},
		{"exponential ms", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 3e6) }},
		{"both signs", func(r *rand.Rand) int64 { return r.Int64N(200_000_000) - 150_000_000 }},
		{"all negative", func(r *rand.Rand) int64 { return -1 - r.Int64N(1e9) }},
		{"tiny exact", func(r *rand.Rand) int64 { return r.Int64N(100) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h signedHist
			vals := make([]int64, 20_000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.add(vals[i])
			}
			slices.Sort(vals)
			for _, p := range []float64{1, 50, 90, 99, 99.9, 100} {
				got, want := h.percentile(p), exactPercentile(vals, p)
				if diff := math.Abs(float64(got - want)); diff > math.Abs(float64(want))/histSubCount+1 {
					t.Errorf("p%v = %d, want %d (±0.8%%)", p, got, want)
				}
			}
			if h.maxValue() != vals[len(vals)-1] {
				t.Errorf("max = %d, want %d", h.maxValue(), vals[len(vals)-1])
			}
		})
	}
}

func TestSignedHistMerge(t *testing.T) {
	var a, b, all signedHist
	for i := int64(-500); i < 1500; i++ {
		all.add(i * 1000)
		if i%2 == 0 {
			a.add(i * 1000)
		} else {
			b.add(i * 1000)
		}
	}
	a.merge(&b)
	if a.count() != all.count() {
		t.Fatalf("merged count %d, want %d", a.count(), all.count())
	}
	for _, p := range []float64{10, 25, 50, 99} {
		if a.percentile(p) != all.percentile(p) {
			t.Errorf("p%v merged %d, direct %d", p, a.percentile(p), all.percentile(p))
		}
	}
	if d := a.dist(); d.N != 2000 || d.Max != ms(1499*1000) {
		t.Errorf("dist %+v", d)
	}
}

func TestEmptyHist(t *testing.T) {
	var h signedHist
	if h.percentile(99) != 0 || h.dist() != (Dist{}) || h.mean() != 0 {
		t.Fatal("an empty histogram should read as zeros")
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{-1, 5}, 2},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("median modified its input")
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
}
