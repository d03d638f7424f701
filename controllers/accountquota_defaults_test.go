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
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/test/fixture/crdschema"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// The CRDs' defaults (kubebuilder markers, which cannot name a Go constant) are the Go ones: TikTok's
// limits are pacing.DefaultLimits, the backoff pacing.DefaultBackoff, the learning pacing's defaults,
// the endpoint tiktok.DefaultBaseURL, and a post's defaults what the controllers assume of an empty
// field. Every default in the generated CRDs is checked, so a new marker needs its Go counterpart here;
// the spec.limits, spec.backoff and spec.adaptive objects default to {} so that their fields' defaults
// (applied inside) are written once.
func TestCRDDefaultsAreTheGoDefaults(t *testing.T) {
	limits, backoff := pacing.DefaultLimits(), pacing.DefaultBackoff()
	cases := []struct {
		file string
		want map[string]any // property path below spec -> the Go default, in the CRD's form
	}{
		{"publish.tiktok-operator.dev_accountquotas.yaml", map[string]any{
			"endpoint":              tiktok.DefaultBaseURL,
			"limits":                map[string]any{},
			"limits.postInit":       rateLimitForm(limits.PostInit),
			"limits.statusFetch":    rateLimitForm(limits.StatusFetch),
			"limits.creatorInfo":    rateLimitForm(limits.CreatorInfo),
			"limits.dailyPosts":     rateLimitForm(limits.DailyPosts),
			"limits.pendingShares":  rateLimitForm(limits.PendingShares),
			"limits.minInterval":    limits.MinInterval,
			"backoff":               map[string]any{},
			"backoff.initial":       backoff.Initial,
			"backoff.max":           backoff.Max,
			"backoff.jitter":        string(backoff.Jitter),
			"adaptive":              map[string]any{},
			"adaptive.cleanWindows": float64(pacing.DefaultCleanWindows),
			"adaptive.maxStretch":   pacing.DefaultMaxStretch,
			"suspend":               false,
		}},
		{"publish.tiktok-operator.dev_tiktokposts.yaml", map[string]any{
			"mode":               string(v1alpha1.ModeDirectPost),
			"video.transfer":     string(v1alpha1.TransferPullFromURL),
			"photo.transfer":     string(v1alpha1.TransferPullFromURL),
			"photo.coverIndex":   float64(0),
			"maxAttempts":        float64(defaultMaxAttempts),
			"onUncertainOutcome": string(v1alpha1.UncertainOutcomeFail),
		}},
	}
	if got := maxAttempts(&v1alpha1.TikTokPostSpec{}); got != defaultMaxAttempts {
		t.Errorf("maxAttempts of a spec without maxAttempts = %d, want defaultMaxAttempts %d", got, defaultMaxAttempts)
	}
	// An empty post is a direct video post: what callOf and the pre-flight checks assume of mode "".
	if callOf(&v1alpha1.TikTokPostSpec{}) != pacing.CallDirectVideoInit {
		t.Errorf("an empty spec is not a DirectPost video for the controllers; the CRD defaults mode to DirectPost")
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := specDefaults(t, filepath.Join("..", "config", "crd", "bases", c.file))
			for _, path := range sortedKeys(got) {
				want, ok := c.want[path]
				if !ok {
					t.Errorf("spec.%s has a CRD default (%v) this test does not compare with a Go default: add it",
						path, got[path])
					continue
				}
				if err := sameDefault(got[path], want); err != nil {
					t.Errorf("spec.%s: %v", path, err)
				}
			}
			for _, path := range sortedKeys(c.want) {
				if _, ok := got[path]; !ok {
					t.Errorf("spec.%s has no default in the CRD, want %v", path, c.want[path])
				}
			}
		})
	}
}

// rateLimitForm is a pacing.Limit as a RateLimit default is written in the CRD.
func rateLimitForm(l pacing.Limit) map[string]any {
	return map[string]any{"requests": float64(l.Requests), "window": l.Window}
}

// sameDefault compares a default read from the CRD with the Go one; durations are compared as durations
// (the CRD writes "1m", Go has 60s).
func sameDefault(got, want any) error {
	switch w := want.(type) {
	case time.Duration:
		s, ok := got.(string)
		if !ok {
			return fmt.Errorf("CRD default %v (%T) is not a duration string, Go default %v", got, got, w)
		}
		d, err := time.ParseDuration(s)
		if err != nil || d != w {
			return fmt.Errorf("CRD default %q, Go default %v", s, w)
		}
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("CRD default %v, Go default %v", got, w)
		}
		for k, wv := range w {
			if err := sameDefault(g[k], wv); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("CRD default %v (%T), Go default %v (%T)", got, got, want, want)
	}
	return nil
}

// specDefaults reads a generated CRD and returns the default of every property below spec, by path.
func specDefaults(t *testing.T, file string) map[string]any {
	t.Helper()
	schema, err := crdschema.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := child(schema, "spec")
	if spec == nil {
		t.Fatalf("%s: no spec in the schema", file)
	}
	out := map[string]any{}
	var walk func(prefix string, schema map[string]any)
	walk = func(prefix string, schema map[string]any) {
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			ps, _ := p.(map[string]any)
			if d, ok := ps["default"]; ok {
				out[prefix+name] = d
			}
			walk(prefix+name+".", ps)
		}
	}
	walk("", spec)
	return out
}

func child(schema map[string]any, name string) (map[string]any, bool) {
	props, _ := schema["properties"].(map[string]any)
	c, ok := props[name].(map[string]any)
	return c, ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
