package pacing

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// BenchmarkReserveComplete is the hot path: a granted ReserveCall plus its Complete, round-robin over n
// accounts whose logs hold a realistic window (status fetches every 2s: 30 calls in the log).
//
//	go test -run '^$' -bench ReserveComplete -benchmem -count 7 ./internal/pacing/
func BenchmarkReserveComplete(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
			names := make([]string, n)
			clocks := make([]int64, n)
			for i := range n {
				names[i] = fmt.Sprintf("ns-%d/account-%d", i%50, i)
				e.Configure(names[i], DefaultLimits(), DefaultBackoff())
				clocks[i] = t0.UnixNano()
			}
			// warm up: fill every account's log to its steady state
			for range 40 {
				for i := range n {
					clocks[i] += int64(2 * time.Second)
					now := time.Unix(0, clocks[i])
					d := e.ReserveCall(names[i], CallStatusFetch, now)
					e.Complete(d.Reservation, now, now, Accepted)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a := i % n
				clocks[a] += int64(2 * time.Second)
				now := time.Unix(0, clocks[a])
				d := e.ReserveCall(names[a], CallStatusFetch, now)
				if !d.Granted {
					b.Fatalf("not granted: %+v", d)
				}
				e.Complete(d.Reservation, now, now, Accepted)
			}
		})
	}
}

// BenchmarkReserveQueuedHead is the queued path: the head's Reserve and its Complete, the waiter being
// enqueued again outside the timer's concern (Enqueue allocates the waiter: once per post, not per call).
func BenchmarkReserveQueuedHead(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	w := Waiter{Key: "k", Name: "post", Call: CallDirectVideoInit, Created: t0}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%50000 == 49999 { // stay far from the year 2262 (int64 nanoseconds)
			b.StopTimer()
			e = NewEngine(testclock.NewFakePassiveClock(t0), nil)
			e.Configure("a", DefaultLimits(), DefaultBackoff())
			now = t0
			b.StartTimer()
		}
		now = now.Add(2 * time.Hour) // 12 direct posts a day: always under the daily cap of 15
		e.Enqueue("a", w)
		d := e.Reserve("a", "k", now)
		if !d.Granted {
			b.Fatalf("not granted: %+v", d)
		}
		e.Complete(d.Reservation, now, now, Accepted)
	}
}

// BenchmarkProjection: recomputing the projection of a queue of k waiters (done only when the queue or
// the windows change), and a cached lookup.
func BenchmarkProjection(b *testing.B) {
	for _, k := range []int{10, 100, 300, 1000} {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
		l := DefaultLimits()
		l.DailyPosts.Requests = 100000
		e.Configure("a", l, DefaultBackoff())
		for i := range k {
			e.Enqueue("a", Waiter{Key: fmt.Sprint(i), Priority: int32(i % 3), Created: t0.Add(time.Duration(i)), Name: fmt.Sprint(i),
				Call: initCalls[i%len(initCalls)]})
		}
		last := fmt.Sprint(k - 1)
		b.Run(fmt.Sprintf("recompute/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.get("a").q.dirty = true
				e.Projection("a", last)
			}
		})
		b.Run(fmt.Sprintf("cached/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.Projection("a", last)
			}
		})
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory reports the heap cost of an idle account (configured, nothing in its windows), of a
// busy one (every default window full), and of a waiting post (keys allocated beforehand: they belong to
// the caller). Each iteration builds 10,000 of them.
func BenchmarkMemory(b *testing.B) {
	const n = 10000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Run("idle-account", func(b *testing.B) {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("ns/account-%d", i)
		}
		var per float64
		for i := 0; i < b.N; i++ {
			before := heapInUse()
			e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
			for _, name := range names {
				e.Configure(name, DefaultLimits(), DefaultBackoff())
			}
			per = float64(heapInUse()-before) / n
			runtime.KeepAlive(e)
		}
		b.ReportMetric(per, "B/account")
	})
	b.Run("busy-account", func(b *testing.B) {
		names := make([]string, n/10)
		for i := range names {
			names[i] = fmt.Sprintf("ns/account-%d", i)
		}
		var per float64
		for i := 0; i < b.N; i++ {
			before := heapInUse()
			e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
			for _, name := range names {
				e.Configure(name, DefaultLimits(), DefaultBackoff())
				now := t0
				for _, c := range []Call{CallStatusFetch, CallCreatorInfo, CallDirectVideoInit, CallInboxVideoInit, CallUploadPhotoInit} {
					for range 30 {
						now = now.Add(time.Second)
						if d := e.ReserveCall(name, c, now); d.Granted {
							e.Complete(d.Reservation, now, now, Accepted)
						}
					}
				}
			}
			per = float64(heapInUse()-before) / float64(len(names))
			runtime.KeepAlive(e)
		}
		b.ReportMetric(per, "B/account")
	})
	b.Run("waiting-post", func(b *testing.B) {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("marketing/post-%d", i)
		}
		var per float64
		for i := 0; i < b.N; i++ {
			e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
			e.Configure("a", DefaultLimits(), DefaultBackoff())
			before := heapInUse()
			for j, k := range keys {
				e.Enqueue("a", Waiter{Key: k, Name: k, Created: t0.Add(time.Duration(j)), Call: CallDirectVideoInit})
			}
			per = float64(heapInUse()-before) / n
			runtime.KeepAlive(e)
		}
		b.ReportMetric(per, "B/post")
	})
}
