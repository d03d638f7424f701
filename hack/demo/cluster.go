package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// createAccounts adds each sample creator to the simulator and creates its labelled credentials Secret
// and its AccountQuota, whose limits match the simulator's windows. It returns the credential values so
// the caller can check they never reach the output; they are never printed.
func createAccounts(ctx context.Context, c client.Client, sim *simProcess, cfg config, mediaURL string) ([]string, error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	var secrets []string
	for _, sa := range sampleAccounts {
		a, err := sim.addAccount(ctx, tiktoksim.Account{Name: sa.Name,
			Creator: tiktoksim.CreatorInfo{Username: sa.Name, Nickname: sa.Name, PrivacyLevelOptions: sa.Privacy}})
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, a.ClientSecret, a.AccessToken, a.RefreshToken)
		sec := fixture.CredentialsSecret(namespace, sa.Name, a)
		if err := c.Create(ctx, sec); err != nil {
			return nil, fmt.Errorf("creating Secret %s: %w", sec.Name, err)
		}
		prefixes := []string{cdnPrefix}
		if mediaURL != "" {
			prefixes = append(prefixes, mediaURL+"/")
		}
		aq := &v1alpha1.AccountQuota{
			ObjectMeta: metav1.ObjectMeta{Name: sa.Name, Namespace: namespace},
			Spec: v1alpha1.AccountQuotaSpec{
				CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
				Endpoint:             sim.URL,
				Limits: v1alpha1.AccountLimits{
					PostInit:      v1alpha1.RateLimit{Requests: int32(cfg.InitLimit), Window: d(cfg.Window)},
					StatusFetch:   v1alpha1.RateLimit{Requests: int32(cfg.StatusLimit), Window: d(cfg.Window)},
					CreatorInfo:   v1alpha1.RateLimit{Requests: int32(cfg.CreatorLimit), Window: d(cfg.Window)},
					DailyPosts:    v1alpha1.RateLimit{Requests: int32(cfg.DailyCap), Window: d(24 * time.Hour)},
					PendingShares: v1alpha1.RateLimit{Requests: int32(cfg.DailyCap), Window: d(24 * time.Hour)},
					MinInterval:   d(cfg.MinInterval),
				},
				Backoff:              v1alpha1.BackoffPolicy{Initial: d(cfg.BackoffInitial), Max: d(cfg.BackoffMax), Jitter: "Full"},
				AllowedMediaPrefixes: prefixes,
			},
		}
		if err := c.Create(ctx, aq); err != nil {
			return nil, fmt.Errorf("creating AccountQuota %s: %w", aq.Name, err)
		}
	}
	return secrets, nil
}

// applyPosts creates the planned posts, as `kubectl apply` of a folder of manifests would.
func applyPosts(ctx context.Context, c client.Client, plan []plannedPost) error {
	for _, p := range plan {
		if err := c.Create(ctx, p.Post.DeepCopy()); err != nil {
			return fmt.Errorf("creating TikTokPost %s: %w", p.Post.Name, err)
		}
	}
	return nil
}

// snapshot is what a dashboard reads: the accounts' and posts' status, from the API server.
type snapshot struct {
	Accounts []v1alpha1.AccountQuota
	Posts    []v1alpha1.TikTokPost
}

// readSnapshot lists the demo namespace's AccountQuotas and TikTokPosts.
func readSnapshot(ctx context.Context, c client.Client) (snapshot, error) {
	var aqs v1alpha1.AccountQuotaList
	if err := c.List(ctx, &aqs, client.InNamespace(namespace)); err != nil {
		return snapshot{}, fmt.Errorf("listing AccountQuotas: %w", err)
	}
	var posts v1alpha1.TikTokPostList
	if err := c.List(ctx, &posts, client.InNamespace(namespace)); err != nil {
		return snapshot{}, fmt.Errorf("listing TikTokPosts: %w", err)
	}
	return snapshot{Accounts: aqs.Items, Posts: posts.Items}, nil
}

// ended reports whether a post is in an end phase.
func ended(p *v1alpha1.TikTokPost) bool {
	switch p.Status.Phase {
	case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered, v1alpha1.PhaseFailed:
		return true
	}
	return false
}

// allEnded reports whether want posts exist and every one has ended.
func (s snapshot) allEnded(want int) bool {
	if len(s.Posts) < want {
		return false
	}
	for i := range s.Posts {
		if !ended(&s.Posts[i]) {
			return false
		}
	}
	return true
}
