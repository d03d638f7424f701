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

package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// logRecord is one line the reconcilers logged, as funcr's JSON renders it.
type logRecord map[string]any

// captureLogs gives the world a logger at V(1) (the level of the decisions) that keeps every line, raw
// and parsed.
func captureLogs(t *testing.T, w *world) (records func() []logRecord, raw func() string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	logger := funcr.NewJSON(func(obj string) {
		mu.Lock()
		lines = append(lines, obj)
		mu.Unlock()
	}, funcr.Options{Verbosity: 1})
	w.logger = &logger
	records = func() []logRecord {
		mu.Lock()
		defer mu.Unlock()
		out := make([]logRecord, 0, len(lines))
		for _, l := range lines {
			var r logRecord
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("a log line is not JSON: %v: %s", err, l)
			}
			out = append(out, r)
		}
		return out
	}
	raw = func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n")
	}
	return records, raw
}

// TestDecisionsAreLogged: the decisions a user asks about are logged at V(1) with the fields that answer
// the question (the account, the reason, when the post goes next), and no token or client secret reaches
// a log line. One account's life: a token refresh (its Secret names no expiry), three posts published, a fourth refused by a window
// TikTok keeps lower than the account's limits (429: a cooldown, a learned limit lowered, a retry), a post
// whose media URL fails the pre-flight check, and a suspended post.
func TestDecisionsAreLogged(t *testing.T) {
	w := newWorld(t, nil)
	records, raw := captureLogs(t, w)
	w.sim.SetLimit(tiktoksim.EndpointVideoInit, 3, time.Minute)
	w.addAccount("brand", nil)
	secrets := secretValues(t, w, fixture.SecretName("brand")) // the Secret the account starts from
	// Its tokens carry no expiry: the first reconciles refresh them, and fetch creator_info.
	w.readyAccount("brand")
	access, refresh, err := w.sim.Tokens("brand")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, access, refresh)
	secrets = append(secrets, secretValues(t, w, fixture.SecretName("brand"))...)

	for i := range 3 {
		name := fmt.Sprintf("p%d", i)
		w.post(name, "brand", nil)
		if p := w.drive(name, 50); p.Status.Phase != v1alpha1.PhasePublished {
			t.Fatalf("%s: %s\n%s", name, describe(p), raw())
		}
	}
	// p3's init is refused (429): the account is reconciled at once, and shows the limit it learned.
	w.post("p3", "brand", nil)
	p3 := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: "p3"}}
	for i := 0; w.inits("brand") < 4; i++ {
		if i == 50 {
			t.Fatalf("p3 never called: %s", describe(w.get("p3")))
		}
		res, err := w.posts.Reconcile(w.reconcileContext(p3), p3)
		if err != nil {
			t.Fatal(err)
		}
		if w.inits("brand") < 4 {
			w.clk.Step(max(res.RequeueAfter, time.Millisecond))
		}
	}
	if _, err := w.reconcileAccount("brand"); err != nil {
		t.Fatal(err)
	}
	if p := w.drive("p3", 200); p.Status.Phase != v1alpha1.PhasePublished {
		t.Fatalf("p3: %s", describe(p))
	}
	w.post("outside", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Video.URL = "https://elsewhere.example.org/a.mp4" })
	if p := w.drive("outside", 5); p.Status.Phase != v1alpha1.PhaseFailed {
		t.Fatalf("outside: %s", describe(p))
	}
	w.post("held", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Suspend = true })
	w.drive("held", 1)

	account := testNS + "/brand"
	want := []struct {
		msg    string
		fields map[string]any // a value of nil: the field is there, with any value
	}{
		{"creator_info fetched", map[string]any{"account": account, "creator": "brand"}},
		{"access token refreshed; the Secret holds the new tokens", map[string]any{"account": account,
			"accessTokenExpiresAt": nil, "nextRefresh": nil}},
		{"TikTok accepted the init call", map[string]any{"account": account, "name": "p0", "publishID": nil}},
		{"post Published", map[string]any{"account": account, "name": "p0", "reason": v1alpha1.ReasonPublished}},
		{"TikTok answered 429 to the init call: the account's calls wait", map[string]any{"account": account,
			"name": "p3", "reason": v1alpha1.ReasonRateLimited, "until": nil}},
		{"attempt failed: the post waits for its next attempt", map[string]any{"account": account, "name": "p3",
			"reason": v1alpha1.ReasonRateLimited, "nextAttemptTime": nil, "backoff": nil, "throttled": true}},
		{"learned limit lowered", map[string]any{"account": account, "window": "postInit/video",
			"effectiveLimit": float64(3), "was": float64(6), "nextProbeAt": nil}},
		{"post Published", map[string]any{"account": account, "name": "p3", "reason": v1alpha1.ReasonPublished}},
		{"post failed", map[string]any{"account": account, "name": "outside", "reason": v1alpha1.ReasonMediaURLNotAllowed}},
		{"post suspended: it leaves the queue", map[string]any{"account": account, "name": "held",
			"reason": v1alpha1.ReasonSuspended}},
	}
	got := records()
	for _, wt := range want {
		if !logged(got, wt.msg, wt.fields) {
			t.Errorf("no log line %q with %v", wt.msg, wt.fields)
		}
	}
	for _, r := range got {
		if r["msg"] == "post Published" && r["level"] != float64(1) {
			t.Errorf("a decision is logged at level %v, want V(1): %v", r["level"], r)
		}
	}
	if t.Failed() {
		for _, r := range got {
			t.Logf("logged: %v", r)
		}
	}

	all := raw()
	for _, sv := range secrets {
		if strings.Contains(all, sv) {
			t.Errorf("a credential (%.6s...) reached a log line", sv)
		}
	}
	noTokenIn(t, "a log line", strings.Split(all, "\n"))
}

// secretValues is what a credentials Secret holds that must stay secret: the tokens and the client secret.
func secretValues(t *testing.T, w *world, name string) []string {
	t.Helper()
	sec := w.getSecret(name)
	var out []string
	for _, k := range []string{v1alpha1.SecretKeyAccessToken, v1alpha1.SecretKeyRefreshToken, v1alpha1.SecretKeyClientSecret} {
		v := string(sec.Data[k])
		if v == "" {
			t.Fatalf("Secret %s has no %s", sec.Name, k)
		}
		out = append(out, v)
	}
	return out
}

// logged says whether a line with the message carries every field (with its value, unless nil).
func logged(records []logRecord, msg string, fields map[string]any) bool {
	for _, r := range records {
		if r["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range fields {
			got, has := r[k]
			if !has || (v != nil && got != v) || got == "" {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
