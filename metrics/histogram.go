package metrics

import (
	"math/bits"
	"time"
)

// The latency histogram of one minute has fixed, log-scale buckets over
// microseconds: each power of two is split into subBuckets equal parts, so
// a bucket spans at most 1/subBuckets of its lower bound. A percentile is
// read as the middle of the bucket holding it, hence off by at most half a
// bucket: within 1/(2*subBuckets) = 6.25% of the true value for latencies
// from 8 µs (below, the buckets are exact microseconds) up to 2^maxOctave
// µs (about 9 minutes), where longer ones are counted in the last bucket.
const (
	subBits    = 3
	subBuckets = 1 << subBits
	maxOctave  = 29
	// histBuckets covers 0..subBuckets-1 µs exactly, then subBuckets
	// buckets per octave up to maxOctave.
	histBuckets = subBuckets + (maxOctave-subBits)*subBuckets
)

// histogram counts one minute's latencies.
type histogram [histBuckets]uint32

// bucketOf returns the bucket of a latency.
func bucketOf(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < subBuckets {
		return int(us)
	}
	octave := bits.Len64(us) - 1 // us in [2^octave, 2^(octave+1))
	if octave >= maxOctave {
		return histBuckets - 1
	}
	sub := (us >> (octave - subBits)) & (subBuckets - 1)
	return subBuckets + (octave-subBits)*subBuckets + int(sub)
}

// bucketMid returns the middle of bucket i, in seconds.
func bucketMid(i int) float64 {
	if i < subBuckets {
		return (float64(i) + 0.5) / 1e6
	}
	octave := (i-subBuckets)/subBuckets + subBits
	sub := (i - subBuckets) % subBuckets
	width := float64(uint64(1) << (octave - subBits))
	lo := float64(uint64(1)<<octave) + float64(sub)*width
	return (lo + width/2) / 1e6
}

// quantiles returns the latencies (seconds) under which the fractions qs
// of the counted requests fall; zeros when none was counted.
func (h *histogram) quantiles(qs []float64, out []float64) {
	var total uint64
	for _, n := range h {
		total += uint64(n)
	}
	for i := range out {
		out[i] = 0
	}
	if total == 0 {
		return
	}
	var seen uint64
	j := 0
	for i, n := range h {
		seen += uint64(n)
		for j < len(qs) && float64(seen) >= qs[j]*float64(total) && n > 0 {
			out[j] = bucketMid(i)
			j++
		}
		if j == len(qs) {
			return
		}
	}
	for ; j < len(qs); j++ {
		out[j] = bucketMid(histBuckets - 1)
	}
}
