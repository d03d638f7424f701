package main

import (
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TikTok's own figures, before compression. Every duration of the benchmark derives from these through
// one factor, so the contenders meet the same shapes TikTok imposes (n calls per window, a spacing,
// a lockout penalty) in seconds instead of minutes.
const (
	tiktokWindow      = time.Minute     // the post-init sliding window
	tiktokMinInterval = time.Second     // TikTok's sub-second burst guard, as the operator models it
	tiktokProcessing  = 5 * time.Second // from an accepted init to PUBLISH_COMPLETE in the simulator
	tiktokPerWindow   = 6               // post inits per window, per endpoint and token
	// benchDailyCap replaces TikTok's 15 direct posts a day, in the simulator and in every AccountQuota
	// alike: the workload (60 posts per account) is far beyond 15, and the benchmark measures the
	// per-minute pacing, not a wait of days.
	benchDailyCap = 100000
)

// scale compresses time: every duration of TikTok, of the retry loop, of the workqueue rate limiter and
// of the operator's options is divided by factor.
type scale struct{ factor float64 }

// d returns d compressed.
func (s scale) d(d time.Duration) time.Duration { return time.Duration(float64(d) / s.factor) }

// window is the compressed post-init window.
func (s scale) window() time.Duration { return s.d(tiktokWindow) }

// minInterval is the compressed spacing between two calls of one account.
func (s scale) minInterval() time.Duration { return s.d(tiktokMinInterval) }

// simConfig is the one simulator configuration every contender meets: TikTok's limits with every
// window compressed, the lockout penalty on (window/4 per call made while locked, as TikTok extends the
// lockout of a client that keeps sending), the daily caps raised to benchDailyCap, and the video-init
// limit set to the scenario's real limit (6 is TikTok's; the "real limit below configured" scenario
// uses 4). A scenario may turn on the sub-second burst rule, or keep TikTok's own daily cap on a
// compressed day.
func (s scale) simConfig(sc scenario) tiktoksim.Config {
	c := tiktoksim.DefaultConfig()
	w := tiktoksim.Duration(s.window())
	for k, l := range c.Limits {
		l.Window = w
		c.Limits[k] = l
	}
	l := c.Limits[tiktoksim.EndpointVideoInit]
	l.Requests = sc.realLimit
	c.Limits[tiktoksim.EndpointVideoInit] = l
	c.Penalty = tiktoksim.Duration(s.window() / 4)
	c.DailyPosts, c.PendingShares = s.dailyCap(sc), s.dailyCap(sc)
	c.Processing.Delay = tiktoksim.Duration(s.d(tiktokProcessing))
	c.VerifiedURLPrefixes = []string{mediaPrefix}
	if sc.burstRule {
		c.Burst = tiktoksim.Burst{Enabled: true, Calls: burstCalls, Within: tiktoksim.Duration(s.d(time.Second))}
	}
	return c
}

// dailyCap is the scenario's daily cap and its day: benchDailyCap over an uncompressed day (never
// reached), or the scenario's own cap over a compressed day.
func (s scale) dailyCap(sc scenario) tiktoksim.Limit {
	if sc.dailyCap > 0 {
		return tiktoksim.Limit{Requests: sc.dailyCap, Window: tiktoksim.Duration(s.d(24 * time.Hour))}
	}
	return tiktoksim.Limit{Requests: benchDailyCap, Window: tiktoksim.Duration(24 * time.Hour)}
}

// minimum is the least time TikTok allows between the first and the last of n inits on one account
// with perWindow inits per window w and spacing m: the first init of the last window comes
// ceil(n/perWindow)-1 windows after the first one, and the rest of that window follow m apart.
func minimum(n, perWindow int, w, m time.Duration) time.Duration {
	if n <= 0 || perWindow <= 0 {
		return 0
	}
	return time.Duration((n+perWindow-1)/perWindow-1)*w + time.Duration((n-1)%perWindow)*m
}
