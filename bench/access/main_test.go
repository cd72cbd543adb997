package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	m := &measure{}
	for _, v := range []int{7, 3, 10, 1, 9, 2, 8, 4, 6, 5} {
		m.times = append(m.times, time.Duration(v))
	}
	for q, want := range map[int]time.Duration{50: 5, 90: 9, 100: 10, 1: 1} {
		if got := m.p(q); got != want {
			t.Errorf("p(%d) = %v, want %v", q, got, want)
		}
	}
	one := &measure{times: []time.Duration{42}}
	if one.p(50) != 42 || one.p(90) != 42 {
		t.Errorf("one time: p50 %v, p90 %v", one.p(50), one.p(90))
	}
}
