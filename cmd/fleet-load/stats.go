package main

import (
	"math"
	"math/bits"
	"sort"
	"time"
)

// hist is a log-linear histogram of non-negative values (nanoseconds): values below 128 are
// exact, larger ones fall in one of 128 buckets per power of two, so a percentile is off by less
// than 0.8 %. Its memory is bounded (at most 7,300 counters) whatever the number of samples.
type hist struct {
	counts   []uint64
	n        uint64
	sum      float64
	min, max int64
}

const (
	histSubBits  = 7
	histSubCount = 1 << histSubBits
)

// histBucket is the bucket of v (v >= 0).
func histBucket(v int64) int {
	if v < histSubCount {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	return (e+1)*histSubCount + int(v>>e) - histSubCount
}

// histValue is the value a bucket stands for: the middle of its range.
func histValue(b int) int64 {
	if b < histSubCount {
		return int64(b)
	}
	e := b/histSubCount - 1
	sub := int64(b%histSubCount + histSubCount)
	return sub<<e + (int64(1)<<e)/2
}

func (h *hist) add(v int64) {
	if v < 0 {
		v = 0
	}
	b := histBucket(v)
	if b >= len(h.counts) {
		grown := make([]uint64, b+1+histSubCount)
		copy(grown, h.counts)
		h.counts = grown
	}
	h.counts[b]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		grown := make([]uint64, len(o.counts))
		copy(grown, h.counts)
		h.counts = grown
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// atRank is the value of the r-th smallest sample (1-based), clamped to [min, max].
func (h *hist) atRank(r uint64) int64 {
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= r {
			return min(max(histValue(b), h.min), h.max)
		}
	}
	return h.max
}

// rank is the 1-based rank of percentile p (0 < p <= 100) among n samples: the nearest-rank
// definition.
func rank(p float64, n uint64) uint64 {
	r := uint64(math.Ceil(p / 100 * float64(n)))
	return min(max(r, 1), n)
}

// signedHist records values of either sign (lateness can be negative: a token may arrive before
// its schedule when the first token, the schedule's origin, was itself late).
type signedHist struct {
	neg, pos hist
}

func (s *signedHist) add(v int64) {
	if v < 0 {
		s.neg.add(-v)
		return
	}
	s.pos.add(v)
}

func (s *signedHist) merge(o *signedHist) {
	s.neg.merge(&o.neg)
	s.pos.merge(&o.pos)
}

func (s *signedHist) count() uint64 { return s.neg.n + s.pos.n }

// percentile is the nearest-rank percentile p (0 < p <= 100); 0 without samples.
func (s *signedHist) percentile(p float64) int64 {
	n := s.count()
	if n == 0 {
		return 0
	}
	r := rank(p, n)
	if r <= s.neg.n {
		// The negatives in ascending order are the magnitudes in descending order.
		return -s.neg.atRank(s.neg.n - r + 1)
	}
	return s.pos.atRank(r - s.neg.n)
}

func (s *signedHist) maxValue() int64 {
	if s.pos.n > 0 {
		return s.pos.max
	}
	if s.neg.n > 0 {
		return -s.neg.min
	}
	return 0
}

func (s *signedHist) mean() float64 {
	n := s.count()
	if n == 0 {
		return 0
	}
	return (s.pos.sum - s.neg.sum) / float64(n)
}

// Dist summarises a distribution of durations, in milliseconds.
type Dist struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

func ms(ns int64) float64 { return float64(ns) / float64(time.Millisecond) }

func (s *signedHist) dist() Dist {
	if s.count() == 0 {
		return Dist{}
	}
	return Dist{N: s.count(), Mean: s.mean() / float64(time.Millisecond), P50: ms(s.percentile(50)),
		P90: ms(s.percentile(90)), P99: ms(s.percentile(99)), P999: ms(s.percentile(99.9)), Max: ms(s.maxValue())}
}

// median is the median of xs (the mean of the middle two for an even count); NaN when empty.
// xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
