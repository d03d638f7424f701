package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// Limits are an account's windows, the same on the simulator and in the AccountQuota.
type Limits struct {
	PostInit    int
	Window      time.Duration // of postInit, statusFetch and creatorInfo
	MinInterval time.Duration
}

// SimConfig is a simulator configuration matching l: the three windows compressed to l.Window, caps
// high enough never to matter, posts processed after 300 ms.
func SimConfig(l Limits) tiktoksim.Config {
	c := tiktoksim.DefaultConfig()
	for k, lim := range c.Limits {
		lim.Window = tiktoksim.Duration(l.Window)
		c.Limits[k] = lim
	}
	lim := c.Limits[tiktoksim.EndpointVideoInit]
	lim.Requests = l.PostInit
	c.Limits[tiktoksim.EndpointVideoInit] = lim
	c.DailyPosts = tiktoksim.Limit{Requests: 100000, Window: tiktoksim.Duration(24 * time.Hour)}
	c.PendingShares = tiktoksim.Limit{Requests: 100000, Window: tiktoksim.Duration(24 * time.Hour)}
	c.Processing.Delay = tiktoksim.Duration(300 * time.Millisecond)
	c.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	return c
}

// SimName is the simulator's name of account name in namespace ns.
func SimName(ns, name string) string { return ns + "-" + name }

// CreateAccount registers the creator on the simulator and creates its labelled Secret and its
// AccountQuota (limits l, endpoint simURL) in ns.
func CreateAccount(ctx context.Context, c client.Client, sim *tiktoksim.Server, simURL, ns, name string, l Limits) error {
	a, err := sim.AddAccount(tiktoksim.Account{Name: SimName(ns, name), Creator: tiktoksim.CreatorInfo{Username: name}})
	if err != nil {
		return fmt.Errorf("adding simulator account %s: %w", name, err)
	}
	sec := fixture.CredentialsSecret(ns, name, a)
	if err := c.Create(ctx, sec); err != nil {
		return fmt.Errorf("creating the Secret of %s: %w", name, err)
	}
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             simURL,
			Limits: v1alpha1.AccountLimits{
				PostInit:      v1alpha1.RateLimit{Requests: int32(l.PostInit), Window: d(l.Window)},
				StatusFetch:   v1alpha1.RateLimit{Requests: 30, Window: d(l.Window)},
				CreatorInfo:   v1alpha1.RateLimit{Requests: 20, Window: d(l.Window)},
				DailyPosts:    v1alpha1.RateLimit{Requests: 100000, Window: d(24 * time.Hour)},
				PendingShares: v1alpha1.RateLimit{Requests: 100000, Window: d(24 * time.Hour)},
				MinInterval:   d(l.MinInterval),
			},
			Backoff:              v1alpha1.BackoffPolicy{Initial: d(200 * time.Millisecond), Max: d(5 * time.Second), Jitter: "Full"},
			AllowedMediaPrefixes: []string{"https://cdn.example.com/"},
		},
	}
	if err := c.Create(ctx, aq); err != nil {
		return fmt.Errorf("creating AccountQuota %s: %w", name, err)
	}
	return nil
}

// Post is a video post by URL, DirectPost, public, titled with its name (the simulator's key).
func Post(ns, name, account string) *v1alpha1.TikTokPost {
	return &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: account},
			Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/" + name + ".mp4"},
			Title:        name,
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
}

// Parallel runs f(i) for i in [0, n) on workers goroutines and returns the first error.
func Parallel(n, workers int, f func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}
