package main

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// namespace holds every object the demo creates.
const namespace = "tiktok-demo"

// cdnPrefix is the media prefix every account allows; the simulator accepts any https URL for
// PULL_FROM_URL, so nothing is ever fetched from it.
const cdnPrefix = "https://cdn.example.com/"

// outsidePrefix is a media URL no account allows: its post fails pre-flight with MediaURLNotAllowed.
const outsidePrefix = "https://media.unverified.example/"

// sampleAccount is one creator: its name (also the simulator's account name) and the privacy levels
// it allows (nil: all four).
type sampleAccount struct {
	Name    string
	Privacy []string
	// Weight is this account's share of the plain video posts.
	Weight int
}

// sampleAccounts are the demo's three creators. creator-jo allows only two privacy levels, so a
// public post on it fails pre-flight before any quota is spent.
var sampleAccounts = []sampleAccount{
	{Name: "brand-main", Weight: 5},
	{Name: "brand-news", Weight: 2},
	{Name: "creator-jo", Weight: 3,
		Privacy: []string{string(v1alpha1.PrivacyFollowerOfCreator), string(v1alpha1.PrivacySelfOnly)}},
}

// expectation is what the demo expects of a post, so the summary can say whether the operator did it.
type expectation struct {
	Phase  v1alpha1.Phase
	Reason string // the Ready condition's reason for a Failed post
}

// plannedPost is a post and what should become of it.
type plannedPost struct {
	Post   *v1alpha1.TikTokPost
	Expect expectation
}

// planPosts returns n posts (n >= minPosts) over the sample accounts: videos by URL and by upload,
// photos, inbox drafts, scheduled posts, several priorities, and the two that must fail pre-flight.
// mediaURL is the demo's HTTPS media server ("" leaves FileUpload posts out); start is when the posts
// are applied (scheduled posts go 1.5 windows later, while the queue is still busy).
func planPosts(n int, mediaURL string, start time.Time, window time.Duration) []plannedPost {
	publishAt := metav1.NewTime(start.Add(window + window/2).Truncate(time.Second).Add(time.Second))
	published := expectation{Phase: v1alpha1.PhasePublished}
	delivered := expectation{Phase: v1alpha1.PhaseDelivered}
	var out []plannedPost
	add := func(name, account string, exp expectation, mutate func(*v1alpha1.TikTokPostSpec)) {
		p := &v1alpha1.TikTokPost{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: v1alpha1.TikTokPostSpec{
				AccountRef:   v1alpha1.LocalObjectReference{Name: account},
				Video:        &v1alpha1.VideoSource{URL: cdnPrefix + name + ".mp4"},
				Title:        name,
				PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
			},
		}
		if mutate != nil {
			mutate(&p.Spec)
		}
		out = append(out, plannedPost{Post: p, Expect: exp})
	}
	upload := func(s *v1alpha1.TikTokPostSpec) {
		s.Video.URL = mediaURL + "/" + s.Title + ".mp4"
		s.Video.Transfer = v1alpha1.TransferFileUpload
	}
	photo := func(count int) func(*v1alpha1.TikTokPostSpec) {
		return func(s *v1alpha1.TikTokPostSpec) {
			s.Video = nil
			s.Photo = &v1alpha1.PhotoSource{}
			for i := range count {
				s.Photo.URLs = append(s.Photo.URLs, fmt.Sprintf("%s%s-%d.jpg", cdnPrefix, s.Title, i))
			}
			s.Description = fmt.Sprintf("%d photos", count)
		}
	}
	private := func(s *v1alpha1.TikTokPostSpec) { s.PrivacyLevel = v1alpha1.PrivacySelfOnly }
	scheduled := func(s *v1alpha1.TikTokPostSpec) { s.PublishAt = &publishAt }
	inbox := func(s *v1alpha1.TikTokPostSpec) { s.Mode = v1alpha1.ModeUpload; s.PrivacyLevel = "" }

	// One of every kind (8 posts).
	if mediaURL != "" {
		add("main-upload-1", "brand-main", published, upload)
	} else {
		add("main-video-url-0", "brand-main", published, nil)
	}
	add("main-scheduled-1", "brand-main", published, scheduled)
	add("main-bad-media-url", "brand-main", expectation{Phase: v1alpha1.PhaseFailed, Reason: v1alpha1.ReasonMediaURLNotAllowed},
		func(s *v1alpha1.TikTokPostSpec) { s.Video.URL = outsidePrefix + "clip.mp4" })
	add("news-photos-1", "brand-news", published, photo(3))
	add("news-draft-video", "brand-news", delivered, inbox)
	add("news-draft-photos", "brand-news", delivered, func(s *v1alpha1.TikTokPostSpec) { photo(2)(s); inbox(s) })
	add("jo-bad-privacy", "creator-jo", expectation{Phase: v1alpha1.PhaseFailed, Reason: v1alpha1.ReasonPrivacyLevelNotAllowed}, nil)
	add("jo-photos-1", "creator-jo", published, func(s *v1alpha1.TikTokPostSpec) { photo(2)(s); private(s) })
	// A few more of the rarer kinds in the full demo.
	if n >= 30 {
		if mediaURL != "" {
			add("main-upload-2", "brand-main", published, upload)
		}
		add("main-scheduled-2", "brand-main", published, func(s *v1alpha1.TikTokPostSpec) { scheduled(s); s.Priority = 10 })
		add("news-photos-2", "brand-news", published, photo(1))
		add("news-photos-3", "brand-news", published, photo(5))
	}

	// The rest are videos by URL spread by weight, with priorities that reorder the queue.
	priorities := []int32{0, 0, 5, 10, -5}
	wheel := weightedOrder(sampleAccounts)
	for i := 0; len(out) < n; i++ {
		a := wheel[i%len(wheel)]
		prio := priorities[i%len(priorities)]
		name := fmt.Sprintf("%s-video-%02d", shortName(a.Name), i)
		add(name, a.Name, published, func(s *v1alpha1.TikTokPostSpec) {
			s.Priority = prio
			if a.Privacy != nil {
				s.PrivacyLevel = v1alpha1.PrivacyFollowerOfCreator
			}
		})
	}
	return out
}

// shortName is the part of an account name before the dash ("brand-main" -> "main").
func shortName(account string) string {
	for i := len(account) - 1; i >= 0; i-- {
		if account[i] == '-' {
			return account[i+1:]
		}
	}
	return account
}

// weightedOrder interleaves the accounts by weight (smooth weighted round robin: 5, 2, 3 gives
// main jo news main main jo main news jo main), so even a small demo gives every account a video.
func weightedOrder(accts []sampleAccount) []sampleAccount {
	total := 0
	for _, a := range accts {
		total += a.Weight
	}
	current := make([]int, len(accts))
	out := make([]sampleAccount, 0, total)
	for range total {
		best := 0
		for i, a := range accts {
			current[i] += a.Weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, accts[best])
	}
	return out
}
