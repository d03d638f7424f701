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
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// operatorNS is the namespace of the operator run; it is in the golden files.
const operatorNS = "tiktok-plugin"

// operatorRun is one run of the real operator (controllers.Setup on a manager in this process) against
// the simulator over HTTP, leaving posts in every state status shows:
//
//	a-uncertain   Failed (UncertainOutcome): the simulator took the init and dropped the connection
//	b-published   Published
//	c-simfail     Failed (ProcessingFailed): the simulator's processing failed it (duration_check_failed)
//	d-queued      Queued: the account's 3 inits per hour are used
//	e-queued      Queued behind d-queued (lower priority)
//	f-scheduled   Scheduled two hours ahead
//
// The manager is stopped before the commands run, so that status holds still.
type operatorRun struct {
	c      *cluster
	sim    *tiktoksim.Server
	simURL string
	// masks are run-dependent values (publish ids, intent ids) for normalise.
	masks []string
}

var (
	runOnce  sync.Once
	theRun   *operatorRun
	runError string
)

// operator runs the operator once for the tests that read what it wrote.
func operator(t *testing.T) *operatorRun {
	t.Helper()
	c := testCluster(t)
	runOnce.Do(func() {
		r, err := startOperatorRun(t, c)
		if err != "" {
			runError = err
			return
		}
		theRun = r
	})
	if runError != "" {
		t.Fatal(runError)
	}
	return theRun
}

func startOperatorRun(t *testing.T, c *cluster) (*operatorRun, string) {
	ctx := context.Background()
	if err := c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}); err != nil {
		return nil, "creating the namespace: " + err.Error()
	}
	simCfg := tiktoksim.DefaultConfig()
	simCfg.Processing.Delay = tiktoksim.Duration(300 * time.Millisecond)
	simCfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	sim := tiktoksim.New(simCfg)
	srv := httptest.NewServer(sim) // stays up for the package's tests; the process ends with them
	r := &operatorRun{c: c, sim: sim, simURL: srv.URL, masks: []string{srv.URL, "<sim-url>"}}

	a, err := sim.AddAccount(tiktoksim.Account{Name: "brand", Creator: tiktoksim.CreatorInfo{
		Username: "brand", Nickname: "Brand Official", MaxVideoPostDurationSec: 600}})
	if err != nil {
		return nil, err.Error()
	}
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	sec := fixture.CredentialsSecret(operatorNS, "brand", a)
	aq := &publishv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "brand", Namespace: operatorNS},
		Spec: publishv1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: publishv1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             srv.URL,
			Limits: publishv1alpha1.AccountLimits{
				// 3 inits an hour: the queue stays put while the commands run.
				PostInit:      publishv1alpha1.RateLimit{Requests: 3, Window: d(time.Hour)},
				StatusFetch:   publishv1alpha1.RateLimit{Requests: 30, Window: d(time.Minute)},
				CreatorInfo:   publishv1alpha1.RateLimit{Requests: 20, Window: d(time.Minute)},
				DailyPosts:    publishv1alpha1.RateLimit{Requests: 15, Window: d(24 * time.Hour)},
				PendingShares: publishv1alpha1.RateLimit{Requests: 5, Window: d(24 * time.Hour)},
				MinInterval:   d(100 * time.Millisecond),
			},
			Backoff: publishv1alpha1.BackoffPolicy{Initial: d(200 * time.Millisecond), Max: d(5 * time.Second), Jitter: "Full"},
		},
	}
	for _, o := range []client.Object{sec, aq} {
		if err := c.client.Create(ctx, o); err != nil {
			return nil, "creating " + o.GetName() + ": " + err.Error()
		}
	}
	post := func(name string, priority int32, mutate func(*publishv1alpha1.TikTokPostSpec)) string {
		p := &publishv1alpha1.TikTokPost{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: operatorNS},
			Spec: publishv1alpha1.TikTokPostSpec{
				AccountRef:   publishv1alpha1.LocalObjectReference{Name: "brand"},
				Video:        &publishv1alpha1.VideoSource{URL: "https://cdn.example.com/" + name + ".mp4"},
				Title:        name,
				PrivacyLevel: publishv1alpha1.PrivacyPublicToEveryone,
				Priority:     priority,
			},
		}
		if mutate != nil {
			mutate(&p.Spec)
		}
		if err := c.client.Create(ctx, p); err != nil {
			return "creating " + name + ": " + err.Error()
		}
		return ""
	}

	// The first init reaches the simulator, which drops the connection before answering.
	sim.SetFaults(tiktoksim.Faults{Drop: 1, Endpoints: []string{tiktoksim.EndpointVideoInit}})
	if e := post("a-uncertain", 100, func(s *publishv1alpha1.TikTokPostSpec) {
		s.OnUncertainOutcome = publishv1alpha1.UncertainOutcomeFail
	}); e != "" {
		return nil, e
	}
	stop, errText := r.startManager()
	if errText != "" {
		return nil, errText
	}
	defer stop()
	if e := r.waitPost("a-uncertain", func(p *publishv1alpha1.TikTokPost) bool {
		return p.Status.Phase == publishv1alpha1.PhaseFailed
	}); e != "" {
		return nil, e
	}
	sim.SetFaults(tiktoksim.Faults{})
	// Failure times have a second's precision: the next failure comes in a later second, so that the
	// list of failures (most recent first) has one order.
	if e := r.waitPost("a-uncertain", func(p *publishv1alpha1.TikTokPost) bool {
		at := failedAt(&p.Status)
		return at != nil && time.Since(at.Time) > time.Second
	}); e != "" {
		return nil, e
	}
	for _, e := range []string{
		post("b-published", 90, nil),
		post("c-simfail", 80, func(s *publishv1alpha1.TikTokPostSpec) { s.Title = "c-simfail #simfail:duration_check_failed" }),
	} {
		if e != "" {
			return nil, e
		}
	}
	// The queue is made once both have ended, so that its positions do not depend on timing.
	for _, name := range []string{"b-published", "c-simfail"} {
		if e := r.waitPost(name, func(p *publishv1alpha1.TikTokPost) bool {
			return p.Status.Phase == publishv1alpha1.PhasePublished || p.Status.Phase == publishv1alpha1.PhaseFailed
		}); e != "" {
			return nil, e
		}
	}
	inTwoHours := metav1.NewTime(time.Now().Add(2 * time.Hour).Truncate(time.Second))
	for _, e := range []string{
		post("d-queued", 70, nil),
		post("e-queued", 60, nil),
		post("f-scheduled", 0, func(s *publishv1alpha1.TikTokPostSpec) { s.PublishAt = &inTwoHours }),
	} {
		if e != "" {
			return nil, e
		}
	}
	want := map[string]publishv1alpha1.Phase{
		"a-uncertain": publishv1alpha1.PhaseFailed, "b-published": publishv1alpha1.PhasePublished,
		"c-simfail": publishv1alpha1.PhaseFailed, "d-queued": publishv1alpha1.PhaseQueued,
		"e-queued": publishv1alpha1.PhaseQueued, "f-scheduled": publishv1alpha1.PhaseScheduled,
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		done, where := r.settled(want)
		if done {
			break
		}
		if time.Now().After(deadline) {
			return nil, "the operator did not reach the expected state in 90s: " + where
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The run-dependent values, for normalise.
	var posts publishv1alpha1.TikTokPostList
	if err := c.client.List(ctx, &posts, client.InNamespace(operatorNS)); err != nil {
		return nil, err.Error()
	}
	for _, p := range posts.Items {
		if p.Status.PublishID != "" {
			r.masks = append(r.masks, p.Status.PublishID, "<publish-id:"+p.Name+">")
		}
		for _, a := range p.Status.AttemptHistory {
			if a.IntentID != "" {
				r.masks = append(r.masks, a.IntentID, "<intent-id>")
			}
		}
		if e := p.Status.LastError; e != nil && e.LogID != "" {
			r.masks = append(r.masks, e.LogID, "<log-id>")
		}
	}
	return r, ""
}

// settled says whether the posts are in the wanted phases and the account's coalesced status has caught
// up with them (counts, the init window full); otherwise where they are.
func (r *operatorRun) settled(want map[string]publishv1alpha1.Phase) (bool, string) {
	ctx := context.Background()
	var posts publishv1alpha1.TikTokPostList
	if err := r.c.client.List(ctx, &posts, client.InNamespace(operatorNS)); err != nil {
		return false, err.Error()
	}
	var where []string
	ok := len(posts.Items) == len(want)
	for _, p := range posts.Items {
		where = append(where, p.Name+"="+string(p.Status.Phase))
		if p.Status.Phase != want[p.Name] {
			ok = false
		}
		if p.Status.Phase == publishv1alpha1.PhaseQueued && (p.Status.NextAttemptTime == nil || p.Status.QueuePosition == 0) {
			ok = false
		}
	}
	var aq publishv1alpha1.AccountQuota
	if err := r.c.client.Get(ctx, client.ObjectKey{Namespace: operatorNS, Name: "brand"}, &aq); err != nil {
		return false, err.Error()
	}
	q := aq.Status.Queue
	// waiting counts the queued posts (the scheduled one is not waiting for a slot yet).
	if q == nil || *q != (publishv1alpha1.QueueStatus{Waiting: 2, PublishedLast24h: 1, FailedLast24h: 2}) {
		ok = false
		where = append(where, "account queue "+jsonString(q))
	}
	inits := false
	for _, u := range aq.Status.Usage {
		if strings.HasPrefix(u.Name, "postInit") && u.Used == 3 {
			inits = true
		}
	}
	if !inits {
		ok = false
		where = append(where, "usage "+jsonString(aq.Status.Usage))
	}
	return ok, strings.Join(where, " ")
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitPost waits up to a minute for ok on one post.
func (r *operatorRun) waitPost(name string, ok func(*publishv1alpha1.TikTokPost) bool) string {
	deadline := time.Now().Add(time.Minute)
	for {
		var p publishv1alpha1.TikTokPost
		err := r.c.client.Get(context.Background(), client.ObjectKey{Namespace: operatorNS, Name: name}, &p)
		if err == nil && ok(&p) {
			return ""
		}
		if time.Now().After(deadline) {
			return "timed out waiting for " + name + ": phase " + string(p.Status.Phase)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startManager runs the production controllers on a manager built like cmd/manager's, watching the
// test's namespace, with the simulator as the only allowed endpoint. stop waits for it to end.
func (r *operatorRun) startManager() (stop func(), errText string) {
	stopErr, err := StartTestOperator(r.c.cfg, r.c.scheme, operatorNS, controllers.Options{
		AllowedEndpoints:        controllers.MustParseAllowedEndpoints(r.simURL),
		AccountStatusInterval:   200 * time.Millisecond,
		AccountStatusQPS:        100,
		StatusPollInitial:       300 * time.Millisecond,
		StatusPollMax:           time.Second,
		CallTimeout:             5 * time.Second,
		MaxConcurrentReconciles: 4,
	}, discard{})
	if err != nil {
		return nil, err.Error()
	}
	return func() { _ = stopErr() }, ""
}

// discard is the manager's log sink: the tests read status, not logs.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
