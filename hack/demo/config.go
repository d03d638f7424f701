package main

import (
	"fmt"
	"os"
	"time"
)

// config is one demo run: where the binaries are, how time is compressed, and how many posts.
// The zero value is not usable; start from compressedConfig or realConfig.
type config struct {
	// Assets is the folder holding kube-apiserver and etcd (bin/k8s/<versions>, built by make control-plane).
	Assets string
	// CRDDir holds the CRDs to install (config/crd/bases).
	CRDDir string
	// SimBinary is the tiktok-sim executable (make demo builds bin/tiktok-sim).
	SimBinary string

	// Window is the length of every short window (post inits, status fetches, creator info), and
	// InitLimit the inits allowed in it per endpoint. The simulator and the AccountQuotas use the same
	// numbers, so a 429 means the operator crossed the quota.
	Window       time.Duration
	InitLimit    int
	StatusLimit  int
	CreatorLimit int
	MinInterval  time.Duration
	// DailyCap bounds direct posts and pending shares per account over 24 h. TikTok's real caps (15 and
	// 5) would park most of the demo's posts for a day, so the demo raises them on both sides.
	DailyCap int
	// ProcessingDelay is how long the simulator takes to "process" an accepted post.
	ProcessingDelay time.Duration
	// BackoffInitial and BackoffMax are the AccountQuotas' retry backoff.
	BackoffInitial, BackoffMax time.Duration

	// Posts is how many TikTokPosts the demo applies (at least minPosts).
	Posts int
	// Refresh is how often the terminal view is redrawn; PlainEvery how often a line is printed when
	// stdout is not a terminal.
	Refresh, PlainEvery time.Duration
	// Terminal forces (true) or forbids (false) the in-place view; nil detects it from stdout.
	Terminal *bool
	// ExternalManager leaves the operator out: the demo sets everything up and waits for a manager run
	// elsewhere (`make run` with the printed kubeconfig). FileUpload posts are left out then, because
	// only the in-process manager trusts the demo's media server certificate.
	ExternalManager bool
}

// minPosts is the least number of posts the sample plan needs to show every kind once.
const minPosts = 12

// compressedConfig keeps TikTok's shapes (6 inits per window, 30 status fetches, 20 creator infos) with
// 10-second windows, so about 40 posts on 3 accounts go through several full windows in a minute or two.
func compressedConfig() config {
	return config{
		Window:          10 * time.Second,
		InitLimit:       6,
		StatusLimit:     30,
		CreatorLimit:    20,
		MinInterval:     200 * time.Millisecond,
		DailyCap:        1000,
		ProcessingDelay: 2 * time.Second,
		BackoffInitial:  200 * time.Millisecond,
		BackoffMax:      5 * time.Second,
		Posts:           40,
		Refresh:         500 * time.Millisecond,
		PlainEvery:      5 * time.Second,
	}
}

// realConfig is TikTok's documented per-minute limits and 1 s spacing (the daily caps stay raised, see
// DailyCap). 18 inits on one endpoint then take just over 2 minutes (measured: 2m26s for the whole demo).
func realConfig() config {
	c := compressedConfig()
	c.Window = time.Minute
	c.MinInterval = time.Second
	c.ProcessingDelay = 5 * time.Second
	c.BackoffInitial = time.Second
	c.BackoffMax = 10 * time.Minute
	return c
}

// configFromEnv picks the windows: TIKTOK_DEMO_REAL_WINDOWS=1 selects TikTok's real ones.
func configFromEnv() config {
	if os.Getenv("TIKTOK_DEMO_REAL_WINDOWS") == "1" {
		return realConfig()
	}
	return compressedConfig()
}

// validate refuses settings the demo cannot run with.
func (c config) validate() error {
	switch {
	case c.Assets == "" || c.CRDDir == "" || c.SimBinary == "":
		return fmt.Errorf("config: assets, CRD folder and simulator binary are required")
	case c.Window <= 0 || c.InitLimit <= 0 || c.StatusLimit <= 0 || c.CreatorLimit <= 0 || c.DailyCap <= 0:
		return fmt.Errorf("config: windows and limits must be positive")
	case c.Posts < minPosts:
		return fmt.Errorf("config: at least %d posts are needed to show every kind, got %d", minPosts, c.Posts)
	case c.Refresh <= 0 || c.PlainEvery <= 0:
		return fmt.Errorf("config: refresh intervals must be positive")
	}
	return nil
}
