/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package plugin

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// now is the synthetic tests' clock.
var now = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }

// syntheticAccount is an account in the states the operator's run does not reach in a test's time: a
// limit lowered after an unexpected 429 with its probe ahead, a cooldown, a Stalled-free Throttled
// condition, a post in flight uploading, more failures than are shown.
func syntheticAccount() (publishv1alpha1.AccountQuota, []publishv1alpha1.TikTokPost) {
	aq := publishv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "brand-main", Namespace: "marketing"},
		Status: publishv1alpha1.AccountQuotaStatus{
			Conditions: []metav1.Condition{
				{Type: "Ready", Status: "True", Reason: "AccountReady", Message: "the account can post"},
				{Type: "Throttled", Status: "True", Reason: "RateLimited", Message: "TikTok answered 429 inside the quota;\tcooling down"},
				{Type: "Reconciling", Status: "False", Reason: "Idle"},
			},
			Creator: &publishv1alpha1.CreatorInfo{Username: "brand", Nickname: "Brand", MaxVideoPostDurationSec: 300,
				PrivacyLevelOptions: []string{"PUBLIC_TO_EVERYONE", "SELF_ONLY"}},
			Token:                &publishv1alpha1.TokenStatus{AccessTokenExpiresAt: at(20 * time.Hour), RefreshTokenExpiresAt: at(364 * 24 * time.Hour), LastRefreshTime: at(-4 * time.Hour)},
			ThrottledUntil:       at(90 * time.Second),
			ConsecutiveThrottles: 2,
			Usage: []publishv1alpha1.LimitUsage{
				{Name: "postInit/video", Limit: 6, EffectiveLimit: 4, Window: metav1.Duration{Duration: time.Minute}, Used: 4,
					NextSlotAt: at(42 * time.Second), LoweredAt: at(-3 * time.Minute), NextProbeAt: at(7 * time.Minute)},
				{Name: "postInit/photo", Limit: 6, EffectiveLimit: 5, Window: metav1.Duration{Duration: time.Minute}, Used: 0,
					LoweredAt: at(-30 * time.Minute), NextProbeAt: at(-time.Minute)},
				{Name: "dailyPosts", Limit: 15, EffectiveLimit: 15, Window: metav1.Duration{Duration: 24 * time.Hour}, Used: 15,
					NextSlotAt: at(5*time.Hour + 12*time.Minute)},
			},
			Queue: &publishv1alpha1.QueueStatus{Waiting: 2, InFlight: 1, PublishedLast24h: 15, FailedLast24h: 7},
		},
	}
	ready := func(status metav1.ConditionStatus, reason, msg string) []metav1.Condition {
		return []metav1.Condition{{Type: "Ready", Status: status, Reason: reason, Message: msg, LastTransitionTime: *at(-time.Hour)}}
	}
	post := func(name string, st publishv1alpha1.TikTokPostStatus) publishv1alpha1.TikTokPost {
		return publishv1alpha1.TikTokPost{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "marketing", CreationTimestamp: *at(-2 * time.Hour)},
			Spec:       publishv1alpha1.TikTokPostSpec{AccountRef: publishv1alpha1.LocalObjectReference{Name: "brand-main"}},
			Status:     st,
		}
	}
	posts := []publishv1alpha1.TikTokPost{
		post("later", publishv1alpha1.TikTokPostStatus{Phase: "Queued", QueuePosition: 2, NextAttemptTime: at(5*time.Hour + 13*time.Minute),
			Conditions: ready("False", "QuotaExhausted", "")}),
		post("next", publishv1alpha1.TikTokPostStatus{Phase: "Queued", QueuePosition: 1, NextAttemptTime: at(5*time.Hour + 12*time.Minute),
			Attempts: 1, Conditions: ready("False", "RateLimited", "")}),
		post("uploading", publishv1alpha1.TikTokPostStatus{Phase: "Processing", Attempts: 1, PublishID: "v_pub_file~v2.123",
			LastAttemptTime: &metav1.MicroTime{Time: now.Add(-20 * time.Second)}, ProcessingStatus: "PROCESSING_UPLOAD",
			UploadProgress: &publishv1alpha1.UploadProgress{UploadedBytes: 10000000, TotalBytes: 25000000}}),
		post("done", publishv1alpha1.TikTokPostStatus{Phase: "Published", Conditions: ready("True", "Published", "")}),
		post("other-account", publishv1alpha1.TikTokPostStatus{Phase: "Failed"}),
	}
	posts[4].Spec.AccountRef.Name = "someone-else"
	for i := range 7 {
		st := publishv1alpha1.TikTokPostStatus{Phase: "Failed", Attempts: 10,
			Conditions: append(ready("False", "MaxAttemptsExceeded", "10 attempts"),
				metav1.Condition{Type: "Stalled", Status: "True", Reason: "MaxAttemptsExceeded", LastTransitionTime: *at(-time.Duration(i+1) * time.Hour)}),
			LastError: &publishv1alpha1.PostError{Code: "internal_error", Message: "something\nbroke", HTTPStatus: 500}}
		posts = append(posts, post(fmt.Sprintf("failed-%d", i), st))
	}
	return aq, posts
}

// TestStatusTextGolden pins the human output exactly (alignment, relative times, sections) on a fake
// clock, and the JSON of the same report.
func TestStatusTextGolden(t *testing.T) {
	aq, posts := syntheticAccount()
	empty := publishv1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "marketing"}}
	rep := buildReport([]publishv1alpha1.AccountQuota{aq, empty}, posts, maxFailuresShown)
	var text bytes.Buffer
	if err := writeStatusText(&text, rep, now); err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "status_synthetic.golden", text.String())
	var js bytes.Buffer
	if err := printStructured(&js, outputJSON, rep); err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "status_synthetic.json.golden", js.String())
	for _, secret := range []string{"access_token", "refresh_token"} {
		if strings.Contains(text.String()+js.String(), secret) {
			t.Errorf("the status output names %s", secret)
		}
	}
}

func TestStatusNoAccounts(t *testing.T) {
	var out bytes.Buffer
	if err := writeStatusText(&out, buildReport(nil, nil, 5), now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no AccountQuotas found") {
		t.Errorf("output %q, want it to say there are no accounts", out.String())
	}
}

func TestRelative(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s ago"},
		{400 * time.Millisecond, "0s ago"},
		{42 * time.Second, "in 42s"},
		{-42 * time.Second, "42s ago"},
		{3 * time.Minute, "in 3m"},
		{3*time.Minute + 12*time.Second, "in 3m12s"},
		{5*time.Hour + 12*time.Minute + 30*time.Second, "in 5h12m"}, // whole minutes, not rounded
		{-2 * time.Hour, "2h ago"},
		{364 * 24 * time.Hour, "in 364d"},
		{26 * time.Hour, "in 1d2h"},
	}
	for _, tt := range tests {
		if got := relative(now.Add(tt.d), now); got != tt.want {
			t.Errorf("relative(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestStatusRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"status", "-o", "wide"}, `--output "wide": must be yaml or json`},
		{[]string{"status", "--failures", "-1"}, "--failures -1: must be 0 or more"},
		{[]string{"status", "a", "b"}, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		res := runPlugin(t, "", "", nil, tt.args...)
		if res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, res.err, tt.want)
		}
	}
}

// BenchmarkStatusReport measures status's own work at scale (the list calls aside): sorting 10,000
// posts of 100 accounts into queues, in-flight and failure lists, and writing the text.
func BenchmarkStatusReport(b *testing.B) {
	aq, _ := syntheticAccount()
	var aqs []publishv1alpha1.AccountQuota
	var posts []publishv1alpha1.TikTokPost
	phases := []publishv1alpha1.Phase{"Queued", "Queued", "Scheduled", "Processing", "Published", "Published", "Failed"}
	for a := range 100 {
		x := aq
		x.Name = fmt.Sprintf("acct-%03d", a)
		aqs = append(aqs, x)
		for i := range 100 {
			posts = append(posts, publishv1alpha1.TikTokPost{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%03d-%03d", a, i), Namespace: "marketing"},
				Spec:       publishv1alpha1.TikTokPostSpec{AccountRef: publishv1alpha1.LocalObjectReference{Name: x.Name}},
				Status: publishv1alpha1.TikTokPostStatus{Phase: phases[i%len(phases)], QueuePosition: int32(100 - i),
					NextAttemptTime: at(time.Duration(i) * time.Minute)},
			})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rep := buildReport(append([]publishv1alpha1.AccountQuota(nil), aqs...), posts, maxFailuresShown)
		var out bytes.Buffer
		if err := writeStatusText(&out, rep, now); err != nil {
			b.Fatal(err)
		}
	}
}
