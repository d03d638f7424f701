package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

func TestPreflight(t *testing.T) {
	aq := func(prefixes ...string) *v1alpha1.AccountQuota {
		return &v1alpha1.AccountQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "brand"},
			Spec:       v1alpha1.AccountQuotaSpec{AllowedMediaPrefixes: prefixes},
			Status: v1alpha1.AccountQuotaStatus{Creator: &v1alpha1.CreatorInfo{
				PrivacyLevelOptions: []string{"PUBLIC_TO_EVERYONE", "SELF_ONLY"}}},
		}
	}
	video := func(url string, transfer v1alpha1.TransferMethod, privacy v1alpha1.PrivacyLevel, mode v1alpha1.PostMode) *v1alpha1.TikTokPostSpec {
		return &v1alpha1.TikTokPostSpec{Mode: mode, PrivacyLevel: privacy,
			Video: &v1alpha1.VideoSource{URL: url, Transfer: transfer}}
	}
	tests := []struct {
		name string
		spec *v1alpha1.TikTokPostSpec
		aq   *v1alpha1.AccountQuota
		want string
	}{
		{"allowed", video("https://cdn.example.com/a.mp4", v1alpha1.TransferPullFromURL, "PUBLIC_TO_EVERYONE", v1alpha1.ModeDirectPost),
			aq("https://cdn.example.com/"), ""},
		{"privacy the creator does not offer", video("https://cdn.example.com/a.mp4", "", "FOLLOWER_OF_CREATOR", v1alpha1.ModeDirectPost),
			aq("https://cdn.example.com/"), v1alpha1.ReasonPrivacyLevelNotAllowed},
		{"Upload mode ignores privacy", video("https://cdn.example.com/a.mp4", "", "FOLLOWER_OF_CREATOR", v1alpha1.ModeUpload),
			aq("https://cdn.example.com/"), ""},
		{"URL outside the prefixes", video("https://evil.example.org/a.mp4", "", "SELF_ONLY", v1alpha1.ModeDirectPost),
			aq("https://cdn.example.com/"), v1alpha1.ReasonMediaURLNotAllowed},
		{"no prefixes: TikTok pulls, allowed", video("https://evil.example.org/a.mp4", v1alpha1.TransferPullFromURL, "SELF_ONLY", v1alpha1.ModeDirectPost),
			aq(), ""},
		{"no prefixes: the operator would download, refused", video("https://evil.example.org/a.mp4", v1alpha1.TransferFileUpload, "SELF_ONLY", v1alpha1.ModeDirectPost),
			aq(), v1alpha1.ReasonMediaURLNotAllowed},
		{"one photo outside the prefixes", &v1alpha1.TikTokPostSpec{PrivacyLevel: "SELF_ONLY", Photo: &v1alpha1.PhotoSource{
			URLs: []string{"https://cdn.example.com/1.jpg", "https://other.example.org/2.jpg"}}},
			aq("https://cdn.example.com/"), v1alpha1.ReasonMediaURLNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, msg := preflight(tt.spec, tt.aq); got != tt.want {
				t.Errorf("preflight = %q (%s), want %q", got, msg, tt.want)
			}
		})
	}
}

func TestCallOf(t *testing.T) {
	photo := &v1alpha1.PhotoSource{URLs: []string{"https://x/1.jpg"}}
	video := &v1alpha1.VideoSource{URL: "https://x/1.mp4"}
	tests := []struct {
		spec v1alpha1.TikTokPostSpec
		want pacing.Call
	}{
		{v1alpha1.TikTokPostSpec{Video: video}, pacing.CallDirectVideoInit},
		{v1alpha1.TikTokPostSpec{Video: video, Mode: v1alpha1.ModeUpload}, pacing.CallInboxVideoInit},
		{v1alpha1.TikTokPostSpec{Photo: photo, Mode: v1alpha1.ModeDirectPost}, pacing.CallDirectPhotoInit},
		{v1alpha1.TikTokPostSpec{Photo: photo, Mode: v1alpha1.ModeUpload}, pacing.CallUploadPhotoInit},
	}
	for _, tt := range tests {
		if got := callOf(&tt.spec); got != tt.want {
			t.Errorf("callOf(mode %q, photo %v) = %s, want %s", tt.spec.Mode, tt.spec.Photo != nil, got, tt.want)
		}
	}
}

// TestRecordedOutcomes: an attempt read back from a status counts in the windows as what it was; one
// without an end time (a crash mid-call) holds its slot.
func TestRecordedOutcomes(t *testing.T) {
	tests := []struct {
		outcome  string
		answered bool
		want     pacing.Outcome
	}{
		{v1alpha1.AttemptOutcomeAccepted, true, pacing.Accepted},
		{v1alpha1.AttemptOutcomeProcessingFailed, true, pacing.Accepted},
		{v1alpha1.AttemptOutcomeRateLimited, true, pacing.Throttled},
		{v1alpha1.AttemptOutcomeRejected, true, pacing.Rejected},
		{v1alpha1.AttemptOutcomeRetryableError, true, pacing.Rejected},
		{v1alpha1.AttemptOutcomeUncertain, true, pacing.Uncertain},
		{"", false, pacing.Pending},
		{v1alpha1.AttemptOutcomeAccepted, false, pacing.Pending},
	}
	for _, tt := range tests {
		if got := outcomeOfAttempt(tt.outcome, tt.answered); got != tt.want {
			t.Errorf("outcomeOfAttempt(%q, %v) = %s, want %s", tt.outcome, tt.answered, got, tt.want)
		}
	}
}

// TestCheckpointRoundTrip: the engine's state survives the trip through the AccountQuota's status at
// microsecond precision, outcome names included.
func TestCheckpointRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)
	in := pacing.State{Calls: []pacing.CallRecord{
		{Call: pacing.CallDirectVideoInit, Sent: t0.UnixNano(), Answered: t0.Add(40 * time.Millisecond).UnixNano(), Outcome: pacing.Accepted},
		{Call: pacing.CallStatusFetch, Sent: t0.Add(time.Second).UnixNano(), Outcome: pacing.Pending},
		{Call: pacing.CallInboxVideoInit, Sent: t0.Add(2 * time.Second).UnixNano(), Answered: t0.Add(3 * time.Second).UnixNano(), Outcome: pacing.Throttled},
	}}
	cp := checkpointOf(in, t0.Add(5*time.Second))
	until := metav1.NewTime(t0.Add(time.Minute))
	out := stateOf(v1alpha1.AccountQuotaStatus{Checkpoint: cp, ThrottledUntil: &until, ConsecutiveThrottles: 2})
	if len(out.Calls) != len(in.Calls) {
		t.Fatalf("%d calls back, want %d", len(out.Calls), len(in.Calls))
	}
	for i := range in.Calls {
		a, b := in.Calls[i], out.Calls[i]
		if a.Call != b.Call || a.Sent != b.Sent || a.Answered != b.Answered || a.Outcome != b.Outcome {
			t.Errorf("call %d: %+v came back as %+v", i, a, b)
		}
	}
	if out.ThrottledUntil != until.UnixNano() || out.ConsecutiveThrottles != 2 {
		t.Errorf("cooldown came back as %d/%d", out.ThrottledUntil, out.ConsecutiveThrottles)
	}
}

func TestRefreshDue(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    accountTokens
		want time.Time
	}{
		{"no expiry known: now", accountTokens{current: tokenPair{access: "a"}}, now},
		{"refused by TikTok: now", accountTokens{invalid: true, current: tokenPair{access: "a", accessExpiresAt: now.Add(time.Hour)}}, now},
		{"a pair waits to be written: now", accountTokens{pending: &tokenPair{}, current: tokenPair{accessExpiresAt: now.Add(time.Hour)}}, now},
		{"80% of a 24 h life", accountTokens{current: tokenPair{issuedAt: now, accessExpiresAt: now.Add(24 * time.Hour)}},
			now.Add(time.Duration(0.8 * float64(24*time.Hour)))},
		{"80% of a 2 h life", accountTokens{current: tokenPair{issuedAt: now, accessExpiresAt: now.Add(2 * time.Hour)}},
			now.Add(96 * time.Minute)},
		{"issue time unknown: 20% of 2 h before expiry", accountTokens{current: tokenPair{accessExpiresAt: now.Add(3 * time.Hour)}},
			now.Add(3*time.Hour - 24*time.Minute)},
		{"refused, refreshed 10 s ago: a minute after that refresh", accountTokens{invalid: true, current: tokenPair{
			issuedAt: now.Add(-10 * time.Second), accessExpiresAt: now.Add(time.Hour)}}, now.Add(50 * time.Second)},
		{"a 10 s life issued now: a minute from now", accountTokens{current: tokenPair{issuedAt: now, accessExpiresAt: now.Add(10 * time.Second)}},
			now.Add(time.Minute)},
		{"a pair waits to be written, refreshed just now: now (writing calls no TikTok endpoint)",
			accountTokens{pending: &tokenPair{issuedAt: now}, current: tokenPair{issuedAt: now}}, now},
	}
	for i := range tests {
		tt := &tests[i]
		if got := tt.a.refreshDue(now, 0.8, time.Minute); !got.Equal(tt.want) {
			t.Errorf("%s: refreshDue = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestTokenUsable: the access token in use serves until TikTok refuses it or it expires; one whose expiry
// is unknown serves (the refresh is due at once anyway).
func TestTokenUsable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    accountTokens
		want bool
	}{
		{"valid, expires later", accountTokens{current: tokenPair{access: "a", accessExpiresAt: now.Add(time.Minute)}}, true},
		{"expiry unknown", accountTokens{current: tokenPair{access: "a"}}, true},
		{"expires now", accountTokens{current: tokenPair{access: "a", accessExpiresAt: now}}, false},
		{"expired", accountTokens{current: tokenPair{access: "a", accessExpiresAt: now.Add(-time.Second)}}, false},
		{"refused by TikTok", accountTokens{invalid: true, current: tokenPair{access: "a", accessExpiresAt: now.Add(time.Hour)}}, false},
	}
	for i := range tests {
		tt := &tests[i]
		if got := tt.a.usable(now); got != tt.want {
			t.Errorf("%s: usable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestWaiterOf: the queue order fields come from the spec, and a backoff read back from the status
// after a restart keeps the post out of the way until it ends.
func TestWaiterOf(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	publishAt := metav1.NewTime(created.Add(time.Hour))
	next := metav1.NewTime(created.Add(2 * time.Hour))
	p := &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: created},
		Spec: v1alpha1.TikTokPostSpec{Priority: 7, PublishAt: &publishAt, Video: &v1alpha1.VideoSource{URL: "https://x"}}}
	w := waiterOf(p, time.Time{})
	if w.Key != "p" || w.Priority != 7 || !w.PublishAt.Equal(publishAt.Time) || !w.Created.Equal(created.Time) || w.Call != pacing.CallDirectVideoInit {
		t.Errorf("waiterOf = %+v", w)
	}
	p.Status = v1alpha1.TikTokPostStatus{Attempts: 1, LastError: &v1alpha1.PostError{Code: "internal_error"}, NextAttemptTime: &next}
	if w := waiterOf(p, time.Time{}); !w.PublishAt.Equal(next.Time) {
		t.Errorf("after a restart the backoff from status is not honoured: %+v", w)
	}
	mine := created.Add(3 * time.Hour)
	if w := waiterOf(p, mine); !w.PublishAt.Equal(mine) {
		t.Errorf("the precise backoff in memory is not honoured: %+v", w)
	}
}

func TestWorthWriting(t *testing.T) {
	accepted := metav1.NewMicroTime(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	st := &v1alpha1.TikTokPostStatus{AttemptHistory: []v1alpha1.AttemptRecord{{Attempt: 1, EndTime: &accepted}}}
	if worthWriting(st, "PROCESSING_DOWNLOAD", accepted.Add(2*time.Second)) {
		t.Errorf("a processing word two seconds in costs a status write")
	}
	if !worthWriting(st, "PROCESSING_DOWNLOAD", accepted.Add(time.Minute)) {
		t.Errorf("a post processing for a minute does not show where it is")
	}
	st.ProcessingStatus = "PROCESSING_DOWNLOAD"
	if worthWriting(st, "PROCESSING_DOWNLOAD", accepted.Add(time.Hour)) {
		t.Errorf("an unchanged word costs a status write")
	}
}
