package crd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// A minimal AccountQuota is accepted and gets every documented default.
func TestAccountQuotaDefaults(t *testing.T) {
	ns := newNamespace(t)
	if _, err := create(t, ns, manifest("AccountQuota", "minimal", `
		credentialsSecretRef: {name: creds}
	`)); err != nil {
		t.Fatalf("minimal AccountQuota refused: %v", err)
	}
	var aq v1alpha1.AccountQuota
	if err := k8sClient.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "minimal"}, &aq); err != nil {
		t.Fatal(err)
	}
	s := aq.Spec
	checkEq(t, "spec.credentialsSecretRef.name", s.CredentialsSecretRef.Name, "creds")
	checkEq(t, "spec.endpoint", s.Endpoint, "https://open.tiktokapis.com")
	limits := []struct {
		name     string
		got      v1alpha1.RateLimit
		requests int32
		window   time.Duration
	}{
		{"postInit", s.Limits.PostInit, 6, time.Minute},
		{"statusFetch", s.Limits.StatusFetch, 30, time.Minute},
		{"creatorInfo", s.Limits.CreatorInfo, 20, time.Minute},
		{"dailyPosts", s.Limits.DailyPosts, 15, 24 * time.Hour},
		{"pendingShares", s.Limits.PendingShares, 5, 24 * time.Hour},
	}
	for _, l := range limits {
		checkEq(t, "spec.limits."+l.name+".requests", l.got.Requests, l.requests)
		checkEq(t, "spec.limits."+l.name+".window", l.got.Window.Duration, l.window)
	}
	checkEq(t, "spec.limits.minInterval", s.Limits.MinInterval.Duration, time.Second)
	checkEq(t, "spec.backoff.initial", s.Backoff.Initial.Duration, time.Second)
	checkEq(t, "spec.backoff.max", s.Backoff.Max.Duration, 10*time.Minute)
	checkEq(t, "spec.backoff.jitter", s.Backoff.Jitter, v1alpha1.JitterFull)
	checkEq(t, "spec.adaptive.cleanWindows", s.Adaptive.CleanWindows, int32(10))
	checkEq(t, "spec.adaptive.maxStretch", s.Adaptive.MaxStretch.Duration, 24*time.Hour)
	// penalty has no default: unset means the engine's guess (one slot of the learned limit), 0s none.
	if s.Adaptive.Penalty != nil {
		t.Errorf("spec.adaptive.penalty defaulted to %s; want it unset (the engine's guess)", s.Adaptive.Penalty.Duration)
	}
	checkEq(t, "spec.suspend", s.Suspend, false)
	checkEq(t, "len(spec.allowedMediaPrefixes)", len(s.AllowedMediaPrefixes), 0)

	// The raw object really carries the defaults (not just Go zero values).
	u := decode(t, ns, manifest("AccountQuota", "minimal", ""))
	if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"spec", "suspend"}, {"spec", "limits", "minInterval"}, {"spec", "backoff", "jitter"},
		{"spec", "limits", "pendingShares", "window"}, {"spec", "adaptive", "cleanWindows"},
		{"spec", "adaptive", "maxStretch"},
	} {
		if _, found := nestedField(u.Object, path...); !found {
			t.Errorf("default for %v not written into the object", path)
		}
	}

	// A partial limits block keeps the other defaults.
	if _, err := create(t, ns, manifest("AccountQuota", "partial", `
		credentialsSecretRef: {name: creds}
		limits:
		  postInit: {requests: 3, window: 90s}
		backoff: {jitter: Decorrelated}
	`)); err != nil {
		t.Fatalf("partial AccountQuota refused: %v", err)
	}
	if err := k8sClient.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "partial"}, &aq); err != nil {
		t.Fatal(err)
	}
	checkEq(t, "partial spec.limits.postInit.requests", aq.Spec.Limits.PostInit.Requests, int32(3))
	checkEq(t, "partial spec.limits.postInit.window", aq.Spec.Limits.PostInit.Window.Duration, 90*time.Second)
	checkEq(t, "partial spec.limits.statusFetch.requests", aq.Spec.Limits.StatusFetch.Requests, int32(30))
	checkEq(t, "partial spec.limits.minInterval", aq.Spec.Limits.MinInterval.Duration, time.Second)
	checkEq(t, "partial spec.backoff.initial", aq.Spec.Backoff.Initial.Duration, time.Second)
	checkEq(t, "partial spec.backoff.jitter", aq.Spec.Backoff.Jitter, v1alpha1.JitterDecorrelated)

	// A partial adaptive block keeps the other defaults; out-of-range values are refused.
	if _, err := create(t, ns, manifest("AccountQuota", "adaptive", `
		credentialsSecretRef: {name: creds}
		adaptive: {cleanWindows: 2}
	`)); err != nil {
		t.Fatalf("partial adaptive refused: %v", err)
	}
	if err := k8sClient.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "adaptive"}, &aq); err != nil {
		t.Fatal(err)
	}
	checkEq(t, "partial spec.adaptive.cleanWindows", aq.Spec.Adaptive.CleanWindows, int32(2))
	checkEq(t, "partial spec.adaptive.maxStretch", aq.Spec.Adaptive.MaxStretch.Duration, 24*time.Hour)
	for i, body := range []string{"{cleanWindows: 0}", "{cleanWindows: 1001}", "{maxStretch: 0s}", "{penalty: -1s}"} {
		if _, err := create(t, ns, manifest("AccountQuota", fmt.Sprintf("bad-adaptive-%d", i), `
		credentialsSecretRef: {name: creds}
		adaptive: `+body+`
	`)); err == nil || !strings.Contains(err.Error(), "spec.adaptive") {
			t.Errorf("adaptive %s: %v; want refused by the validation of spec.adaptive", body, err)
		}
	}
}

// A minimal video post and a minimal photo post are accepted and get every documented default.
func TestTikTokPostDefaults(t *testing.T) {
	ns := newNamespace(t)
	if _, err := create(t, ns, manifest("TikTokPost", "video", `
		accountRef: {name: brand-main}
		privacyLevel: SELF_ONLY
		video: {url: "https://cdn.example.com/v.mp4"}
	`)); err != nil {
		t.Fatalf("minimal video post refused: %v", err)
	}
	var p v1alpha1.TikTokPost
	if err := k8sClient.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "video"}, &p); err != nil {
		t.Fatal(err)
	}
	s := p.Spec
	checkEq(t, "spec.accountRef.name", s.AccountRef.Name, "brand-main")
	checkEq(t, "spec.mode", s.Mode, v1alpha1.ModeDirectPost)
	checkEq(t, "spec.video.transfer", s.Video.Transfer, v1alpha1.TransferPullFromURL)
	checkEq(t, "spec.maxAttempts", s.MaxAttempts, int32(10))
	checkEq(t, "spec.onUncertainOutcome", s.OnUncertainOutcome, v1alpha1.UncertainOutcomeFail)
	checkEq(t, "spec.priority", s.Priority, int32(0))
	checkEq(t, "spec.suspend", s.Suspend, false)
	for name, b := range map[string]bool{
		"disableComment": s.DisableComment, "disableDuet": s.DisableDuet, "disableStitch": s.DisableStitch,
		"brandContent": s.BrandContent, "brandOrganic": s.BrandOrganic, "aiGenerated": s.AIGenerated,
		"autoAddMusic": s.AutoAddMusic,
	} {
		checkEq(t, "spec."+name, b, false)
	}
	if s.Photo != nil || s.PublishAt != nil || s.Deadline != nil {
		t.Errorf("unexpected fields set by defaulting: %+v", s)
	}
	u := decode(t, ns, manifest("TikTokPost", "video", ""))
	if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"mode", "maxAttempts", "onUncertainOutcome"} {
		if _, found := nestedField(u.Object, "spec", f); !found {
			t.Errorf("default for spec.%s not written into the object", f)
		}
	}
	// False and 0 are not written: every field the API server adds costs it CPU on every write of the
	// post (docs/scale.md), and left out they mean the same.
	for _, f := range []string{"priority", "suspend", "disableComment", "disableDuet", "disableStitch",
		"brandContent", "brandOrganic", "aiGenerated", "autoAddMusic"} {
		if v, found := nestedField(u.Object, "spec", f); found {
			t.Errorf("spec.%s = %v written into the object; want it left out", f, v)
		}
	}

	if _, err := create(t, ns, manifest("TikTokPost", "photo", `
		accountRef: {name: brand-main}
		mode: Upload
		photo:
		  urls: ["https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"]
		title: "Two photos"
		description: "A longer text for the carousel."
	`)); err != nil {
		t.Fatalf("minimal photo post refused: %v", err)
	}
	if err := k8sClient.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "photo"}, &p); err != nil {
		t.Fatal(err)
	}
	checkEq(t, "spec.mode", p.Spec.Mode, v1alpha1.ModeUpload)
	checkEq(t, "spec.photo.coverIndex", p.Spec.Photo.CoverIndex, int32(0))
	checkEq(t, "spec.photo.transfer", p.Spec.Photo.Transfer, v1alpha1.TransferPullFromURL)
	checkEq(t, "spec.privacyLevel (optional for Upload)", p.Spec.PrivacyLevel, v1alpha1.PrivacyLevel(""))
	checkEq(t, "spec.maxAttempts", p.Spec.MaxAttempts, int32(10))
}

// Manifests at the edges of the rules are accepted.
func TestAcceptedEdgeCases(t *testing.T) {
	ns := newNamespace(t)
	photos35 := "["
	for i := 0; i < 35; i++ {
		if i > 0 {
			photos35 += ", "
		}
		photos35 += `"https://cdn.example.com/p.jpg"`
	}
	photos35 += "]"
	cases := []struct{ name, kind, spec string }{
		{"endpoint-loopback-ipv4", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://127.0.0.1:8080"}`},
		{"endpoint-loopback-127-x", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://127.1.2.3:9000/base"}`},
		{"endpoint-localhost", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://localhost:9000"}`},
		{"endpoint-ipv6-loopback", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://[::1]:9000"}`},
		{"endpoint-https-custom", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "https://tiktok-sim.example.com:8443"}`},
		{"min-interval-zero", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {minInterval: 0s}}`},
		{"fractional-window", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {postInit: {requests: 1, window: 1.5s}}}`},
		{"media-prefixes-ports-paths-ipv6", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com", "https://cdn.example.com:8443/public/", "https://[2001:db8::1]/media", "https://cdn.example.com/.well-known/media/", "https://cdn.example.com/my%20media/"]}`},
		{"video-title-2200", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4"}, title: "` + repeat("é", 2200) + `"}`},
		{"photo-title-90", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ["https://cdn.example.com/1.jpg"]}, title: "` + repeat("x", 90) + `", description: "` + repeat("d", 4000) + `"}`},
		{"photo-35", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ` + photos35 + `, coverIndex: 34}}`},
		{"photo-direct-post", "TikTokPost", `{accountRef: {name: a}, mode: DirectPost, privacyLevel: FOLLOWER_OF_CREATOR, photo: {urls: ["https://cdn.example.com/1.jpg"]}, autoAddMusic: true}`},
		{"video-upload-no-privacy", "TikTokPost", `{accountRef: {name: a}, mode: Upload, video: {url: "https://cdn.example.com/v.mp4", transfer: FileUpload}}`},
		{"video-empty-description", "TikTokPost", `{accountRef: {name: a}, privacyLevel: MUTUAL_FOLLOW_FRIENDS, video: {url: "https://cdn.example.com/v.mp4"}, description: ""}`},
		{"deadline-after-publishat", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4"}, publishAt: "2026-12-01T09:00:00Z", deadline: "2026-12-01T09:00:01Z"}`},
		{"deadline-only", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4"}, deadline: "2020-01-01T00:00:00Z"}`},
		{"max-attempts-bounds", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4"}, maxAttempts: 100, priority: -5, onUncertainOutcome: Retry}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := create(t, ns, manifest(c.kind, c.name, c.spec)); err != nil {
				t.Errorf("refused, want accepted: %v", err)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		out = append(out, s...)
	}
	return string(out)
}

func checkEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func nestedField(obj map[string]any, path ...string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}
