package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// retryAttempts is the seed article's limit: after the fifth 429 the post is dropped.
const retryAttempts = 5

// retryLoop is the seed article's client: workers per account take the next post and call init; on a
// 429 (rate_limit_exceeded) they sleep base*2^attempt + uniform(0.1, 0.5) s (base 1 s, all compressed)
// and try again, at most retryAttempts calls, then give the post up. It knows no limit: it learns of
// the quota by hitting it.
type retryLoop struct {
	workers int // concurrent workers per account
	seed    uint64
}

func (r retryLoop) name() string    { return fmt.Sprintf("retry loop, W=%d", r.workers) }
func (r retryLoop) needsKube() bool { return false }

func (r retryLoop) run(ctx context.Context, e *runEnv) (outcome, error) {
	cl := tiktok.New(tiktok.Options{BaseURL: e.simURL, HTTPClient: e.http, Timeout: 30 * time.Second})
	out := outcome{arrived: map[string]time.Time{}, lost: map[string]bool{}, writes: -1}
	var mu sync.Mutex
	var seen429 atomic.Int64
	base := e.scale.d(time.Second)
	jitterLo, jitterHi := e.scale.d(100*time.Millisecond), e.scale.d(500*time.Millisecond)

	var wg sync.WaitGroup
	out.start = time.Now()
	for ai, acct := range e.work.accounts {
		tok := tiktok.AccessToken(e.accounts[acct].AccessToken)
		queue := make(chan plannedPost, len(e.work.posts[acct]))
		// Arrivals: each post is handed to the workers at its arrival time.
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(queue)
			for _, p := range e.work.posts[acct] {
				if !sleepUntil(ctx, out.start.Add(p.at)) {
					return
				}
				mu.Lock()
				out.arrived[p.name] = time.Now()
				mu.Unlock()
				queue <- p
			}
		}()
		for w := range r.workers {
			rnd := rand.New(rand.NewPCG(r.seed, uint64(ai*1000+w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range queue {
					ok, err := r.publish(ctx, cl, tok, p, rnd, base, jitterLo, jitterHi, &seen429)
					if err != nil || !ok {
						mu.Lock()
						out.lost[p.name] = true
						mu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	out.seen429 = int(seen429.Load())
	return out, ctx.Err()
}

// publish is the article's loop for one post. It returns false when the post is given up.
func (r retryLoop) publish(ctx context.Context, cl *tiktok.Client, tok tiktok.AccessToken, p plannedPost, rnd *rand.Rand,
	base, jitterLo, jitterHi time.Duration, seen429 *atomic.Int64) (bool, error) {
	for attempt := range retryAttempts {
		_, err := cl.InitDirectVideo(ctx, tok, videoRequest(p))
		switch tiktok.ClassOf(err) {
		case tiktok.OK:
			return true, nil
		case tiktok.RateLimited:
			seen429.Add(1)
		default:
			return false, fmt.Errorf("init of %s: %w", p.name, err)
		}
		if attempt == retryAttempts-1 {
			break // the fifth 429: the article raises, and the post is gone
		}
		delay := base<<attempt + jitterLo + time.Duration(rnd.Float64()*float64(jitterHi-jitterLo))
		if !sleepUntil(ctx, time.Now().Add(delay)) {
			return false, ctx.Err()
		}
	}
	return false, nil
}

// videoRequest is the init body every contender sends for a post: a public Direct Post pulled from a URL.
func videoRequest(p plannedPost) tiktok.DirectVideoRequest {
	return tiktok.DirectVideoRequest{
		PostInfo:   tiktok.VideoPostInfo{Title: p.name, PrivacyLevel: tiktok.PrivacyPublic},
		SourceInfo: tiktok.PullFromURL(mediaPrefix + p.name + ".mp4"),
	}
}

// sleepUntil waits until t or ctx ends; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
