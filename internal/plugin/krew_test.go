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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin manifest (krew.googlecontainertools.github.com/v1alpha2) the
// test checks; decoding is strict, so a misspelt field fails.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			Sha256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestKrewManifest: hack/krew/tiktok.yaml is a krew Plugin named tiktok (so `kubectl tiktok` runs it)
// whose every platform installs the binary kubectl-tiktok from an archive of the release VERSION with
// its own checksum placeholder.
func TestKrewManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "krew", "tiktok.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		t.Fatalf("hack/krew/tiktok.yaml: %v", err)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "tiktok" {
		t.Errorf("%s %s %s, want a krew v1alpha2 Plugin named tiktok", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if p.Spec.Version != "VERSION" || p.Spec.ShortDescription == "" || p.Spec.Homepage == "" {
		t.Errorf("version %q (want the VERSION placeholder), shortDescription %q, homepage %q", p.Spec.Version, p.Spec.ShortDescription, p.Spec.Homepage)
	}
	seen := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		osName, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		key := osName + "/" + arch
		if osName == "" || arch == "" || seen[key] {
			t.Errorf("platform %q: a selector needs os and arch, once each", key)
		}
		seen[key] = true
		bin := "kubectl-tiktok"
		if osName == "windows" {
			bin += ".exe"
		}
		if pl.Bin != bin {
			t.Errorf("%s: bin %q, want %q", key, pl.Bin, bin)
		}
		shipped := false
		for _, f := range pl.Files {
			shipped = shipped || f.From == bin
		}
		if !shipped {
			t.Errorf("%s: files do not ship %s", key, bin)
		}
		if want := "SHA256_" + strings.ToUpper(osName+"_"+arch); pl.Sha256 != want {
			t.Errorf("%s: sha256 %q, want the placeholder %s", key, pl.Sha256, want)
		}
		if !strings.HasPrefix(pl.URI, "https://") || !strings.Contains(pl.URI, "/VERSION/kubectl-tiktok_VERSION_"+osName+"_"+arch+".") {
			t.Errorf("%s: uri %q does not name this platform's archive of VERSION", key, pl.URI)
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !seen[want] {
			t.Errorf("no platform %s", want)
		}
	}
}
