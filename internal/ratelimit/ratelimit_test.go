package ratelimit

import (
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	l := New(1, 2) // one a second, bursts of two
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the burst: ok %v wait %s", ok, wait)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("not refilled after a second")
	}
	// Quiet keys are forgotten at the next sweep.
	l.Allow("c", now.Add(10*time.Minute))
	if len(l.m) != 1 {
		t.Fatalf("%d buckets kept after the others went quiet, want 1", len(l.m))
	}
}
