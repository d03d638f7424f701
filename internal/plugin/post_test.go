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
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tiktok-operator/tiktok-operator/test/fixture/crdschema"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

var postArgs = []string{"post", "brand-main", "-n", "marketing", "--video-url", "https://cdn.example.com/teaser.mp4",
	"--title", "New drop, Friday 6pm #launch", "--privacy", "PUBLIC_TO_EVERYONE"}

// TestPostClientDryRunGolden: --dry-run=client -o yaml prints the manifest for a GitOps repository
// (no cluster is contacted), with the default name from the clock and --at relative to it.
func TestPostClientDryRunGolden(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(now)
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"post_client.yaml.golden", []string{"--at", "+2h", "--deadline", "2026-12-05T18:00:00Z", "--priority", "5", "--disable-duet", "--dry-run=client", "-o", "yaml"}},
		{"post_client.json.golden", []string{"--name", "teaser", "--mode", "Upload", "--transfer", "FileUpload", "--dry-run=client", "-o", "json"}},
		{"post_client.golden", []string{"--dry-run"}},
	} {
		res := runPlugin(t, "", "", clk, append(append([]string{}, postArgs...), tt.args...)...)
		if res.err != nil {
			t.Fatalf("%v: %v", tt.args, res.err)
		}
		compareGolden(t, tt.golden, res.out)
	}
	// What -o yaml prints is a TikTokPost that decodes with the API's types.
	res := runPlugin(t, "", "", clk, append(append([]string{}, postArgs...), "--dry-run=client", "-o", "yaml")...)
	var p publishv1alpha1.TikTokPost
	if err := yaml.UnmarshalStrict([]byte(res.out), &p); err != nil {
		t.Fatalf("the manifest does not decode as a TikTokPost: %v\n%s", err, res.out)
	}
	if p.Kind != "TikTokPost" || p.Name != "brand-main-20261204-180000" || p.Spec.Video.URL != "https://cdn.example.com/teaser.mp4" {
		t.Errorf("decoded %s %s with video %+v", p.Kind, p.Name, p.Spec.Video)
	}
}

// TestPostRefusesBadInput: every rule names the flag and the field, before anything is sent.
func TestPostRefusesBadInput(t *testing.T) {
	base := []string{"post", "brand", "-n", "ns", "--dry-run=client"}
	ok := []string{"--video-url", "https://cdn.example.com/a.mp4", "--privacy", "SELF_ONLY"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--privacy", "SELF_ONLY"}, "--video-url (spec.video.url) is required"},
		{"http url", []string{"--video-url", "http://cdn.example.com/a.mp4", "--privacy", "SELF_ONLY"}, "--video-url (spec.video.url) \"http://cdn.example.com/a.mp4\": must be an https:// URL"},
		{"userinfo", []string{"--video-url", "https://me@cdn.example.com/a.mp4", "--privacy", "SELF_ONLY"}, "must be an https:// URL with a host and no user@"},
		{"long url", []string{"--video-url", "https://cdn.example.com/" + strings.Repeat("a", 2048), "--privacy", "SELF_ONLY"}, "--video-url (spec.video.url): at most 2048 characters"},
		{"long title", append([]string{"--title", strings.Repeat("é", 2201)}, ok...), "--title (spec.title): at most 2200 characters for a video post, got 2201"},
		{"no privacy", []string{"--video-url", "https://cdn.example.com/a.mp4"}, "--privacy (spec.privacyLevel) is required for DirectPost"},
		{"bad privacy", []string{"--video-url", "https://cdn.example.com/a.mp4", "--privacy", "FRIENDS"}, "--privacy (spec.privacyLevel) \"FRIENDS\": must be one of PUBLIC_TO_EVERYONE"},
		{"bad mode", append([]string{"--mode", "Draft"}, ok...), "--mode (spec.mode) \"Draft\": must be DirectPost or Upload"},
		{"bad transfer", append([]string{"--transfer", "Push"}, ok...), "--transfer (spec.video.transfer) \"Push\": must be PullFromURL or FileUpload"},
		{"priority", append([]string{"--priority", "1000001"}, ok...), "--priority (spec.priority) 1000001: must be between -1000000 and 1000000"},
		{"attempts", append([]string{"--max-attempts", "101"}, ok...), "--max-attempts (spec.maxAttempts) 101: must be between 1 and 100"},
		{"uncertain", append([]string{"--on-uncertain-outcome", "Ignore"}, ok...), "--on-uncertain-outcome (spec.onUncertainOutcome) \"Ignore\": must be Fail or Retry"},
		{"at", append([]string{"--at", "tomorrow"}, ok...), "--at (spec.publishAt) \"tomorrow\": must be an RFC 3339 time"},
		{"deadline", append([]string{"--at", "+2h", "--deadline", "+1h"}, ok...), "--deadline (spec.deadline) 2026-12-04T19:00:00Z: must be after --at (spec.publishAt) 2026-12-04T20:00:00Z"},
		{"name", append([]string{"--name", "Not_A_Name"}, ok...), "--name (metadata.name) \"Not_A_Name\""},
		{"dry run", append([]string{"--dry-run=maybe"}, ok...), "--dry-run \"maybe\": must be none, client or server"},
		{"output", append([]string{"-o", "wide"}, ok...), "--output \"wide\": must be yaml or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runPlugin(t, "", "", clocktesting.NewFakePassiveClock(now), append(append([]string{}, base...), tt.args...)...)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", res.err, tt.want)
			}
			if res.out != "" {
				t.Errorf("bad input printed %q", res.out)
			}
		})
	}
	res := runPlugin(t, "", "", nil, "post", "Bad_Account", "-n", "ns", "--dry-run=client", "--video-url", "https://cdn.example.com/a.mp4", "--privacy", "SELF_ONLY", "--name", "x")
	if res.err == nil || !strings.Contains(res.err.Error(), "ACCOUNT (spec.accountRef.name) \"Bad_Account\"") {
		t.Errorf("bad account: %v", res.err)
	}
}

// TestPostServerDryRunAndCreate: --dry-run=server is validated and defaulted by the real API server and
// stores nothing; without --dry-run the post is created.
func TestPostServerDryRunAndCreate(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	if err := c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "marketing"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	args := append(append([]string{}, postArgs...), "--name", "teaser")
	res := runPlugin(t, c.kubeconfig, "", nil, append(append([]string{}, args...), "--dry-run=server", "-o", "yaml")...)
	if res.err != nil {
		t.Fatalf("server dry run: %v", res.err)
	}
	var p publishv1alpha1.TikTokPost
	if err := yaml.Unmarshal([]byte(res.out), &p); err != nil {
		t.Fatal(err)
	}
	// The CRD's defaults show that the API server answered.
	if p.Spec.Mode != publishv1alpha1.ModeDirectPost || p.Spec.MaxAttempts != 10 || p.Spec.Video.Transfer != publishv1alpha1.TransferPullFromURL {
		t.Errorf("server dry run answered mode %q, maxAttempts %d, transfer %q; want the CRD's defaults", p.Spec.Mode, p.Spec.MaxAttempts, p.Spec.Video.Transfer)
	}
	key := client.ObjectKey{Namespace: "marketing", Name: "teaser"}
	if err := c.client.Get(ctx, key, &publishv1alpha1.TikTokPost{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after a server dry run, get: %v; want NotFound", err)
	}

	res = runPlugin(t, c.kubeconfig, "", nil, args...)
	if res.err != nil || res.out != "tiktokpost.publish.tiktok-operator.dev/teaser created\n" {
		t.Fatalf("create: %v, printed %q", res.err, res.out)
	}
	var got publishv1alpha1.TikTokPost
	if err := c.client.Get(ctx, key, &got); err != nil {
		t.Fatalf("the created post: %v", err)
	}
	if got.Spec.Title != "New drop, Friday 6pm #launch" || got.Spec.PrivacyLevel != publishv1alpha1.PrivacyPublicToEveryone {
		t.Errorf("created spec %+v", got.Spec)
	}
	res = runPlugin(t, c.kubeconfig, "", nil, args...)
	if res.err == nil || !strings.Contains(res.err.Error(), "already exists") {
		t.Errorf("creating it twice: %v, want already exists", res.err)
	}
}

// TestPostBoundsMatchTheCRD: the bounds post checks are the generated CRD's.
func TestPostBoundsMatchTheCRD(t *testing.T) {
	schema, err := crdschema.Read(filepath.Join("..", "..", "config", "crd", "bases", "publish.tiktok-operator.dev_tiktokposts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := prop(t, schema, "spec")
	tests := []struct {
		node map[string]any
		key  string
		want int
	}{
		{prop(t, prop(t, spec, "video"), "url"), "maxLength", maxVideoURLLength},
		{prop(t, spec, "title"), "maxLength", maxTitleLength},
		{prop(t, prop(t, spec, "accountRef"), "name"), "maxLength", maxAccountRefLen},
		{prop(t, spec, "priority"), "minimum", minPriority},
		{prop(t, spec, "priority"), "maximum", maxPriority},
		{prop(t, spec, "maxAttempts"), "minimum", minMaxAttempts},
		{prop(t, spec, "maxAttempts"), "maximum", maxMaxAttempts},
	}
	for _, tt := range tests {
		if got, ok := tt.node[tt.key].(float64); !ok || int(got) != tt.want {
			t.Errorf("the CRD's %s is %v, the plugin checks %d", tt.key, tt.node[tt.key], tt.want)
		}
	}
	var levels []string
	for _, l := range prop(t, spec, "privacyLevel")["enum"].([]any) {
		levels = append(levels, l.(string))
	}
	if strings.Join(levels, ",") != strings.Join(privacyLevels, ",") {
		t.Errorf("the CRD's privacy levels %v, the plugin's %v", levels, privacyLevels)
	}
	rule := ""
	for _, v := range prop(t, spec, "video")["properties"].(map[string]any)["url"].(map[string]any)["x-kubernetes-validations"].([]any) {
		rule += v.(map[string]any)["rule"].(string)
	}
	if !strings.Contains(rule, httpsURL.String()) {
		t.Errorf("the CRD's video.url rule %q does not use the plugin's pattern %q", rule, httpsURL.String())
	}
}

func prop(t *testing.T, node map[string]any, name string) map[string]any {
	t.Helper()
	props, _ := node["properties"].(map[string]any)
	next, ok := props[name].(map[string]any)
	if !ok {
		t.Fatalf("the CRD schema has no property %q", name)
	}
	return next
}
