package main

import (
	"sync"
	"time"
)

// bucket is a token bucket rate limiter for a workqueue, the shape of client-go's BucketRateLimiter
// (which needs golang.org/x/time/rate, a module this project only depends on indirectly): every When
// reserves the next token and answers how long to wait for it.
type bucket[T comparable] struct {
	mu     sync.Mutex
	qps    float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket[T comparable](qps float64, burst int) *bucket[T] {
	return &bucket[T]{qps: qps, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// When takes a token (going into debt when none is left) and returns the wait until it is covered.
func (b *bucket[T]) When(T) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.qps)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.qps * float64(time.Second))
}

// Forget does nothing: the bucket is shared by every item.
func (b *bucket[T]) Forget(T) {}

// NumRequeues is always 0: the bucket does not track items.
func (b *bucket[T]) NumRequeues(T) int { return 0 }
