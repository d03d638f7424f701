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

package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Every way the control plane can be missing is one line that names what is missing and says to run
// make test; a folder holding both binaries is accepted. The "binaries" are empty files with the
// execute bit: Assets only looks at the folder, it runs nothing.
func TestAssets(t *testing.T) {
	dirWith := func(t *testing.T, files map[string]os.FileMode) string {
		dir := t.TempDir()
		for name, mode := range files {
			if err := os.WriteFile(filepath.Join(dir, name), nil, mode); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	both := map[string]os.FileMode{"kube-apiserver": 0o755, "etcd": 0o755}
	cases := []struct {
		name    string
		env     string // KUBEBUILDER_ASSETS; "<dir>" is replaced by the case's folder
		arg     string // Assets' argument; "<dir>" likewise
		files   map[string]os.FileMode
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "unset", wantErr: []string{"KUBEBUILDER_ASSETS is not set", "make test"}},
		{name: "from the environment", env: "<dir>", files: both},
		{name: "from the argument, environment unset", arg: "<dir>", files: both},
		{name: "argument wins over the environment", env: "/nonexistent", arg: "<dir>", files: both},
		{name: "empty folder", env: "<dir>", files: map[string]os.FileMode{},
			wantErr: []string{"no executable kube-apiserver", "(KUBEBUILDER_ASSETS)", "make test"}},
		{name: "no etcd", env: "<dir>", files: map[string]os.FileMode{"kube-apiserver": 0o755},
			wantErr: []string{"no executable etcd", "make test"}},
		{name: "etcd not executable", arg: "<dir>", files: map[string]os.FileMode{"kube-apiserver": 0o755, "etcd": 0o644},
			wantErr: []string{"no executable etcd", "(the assets folder)", "make test"}},
		{name: "folder missing", env: "/nonexistent/bin/k8s", wantErr: []string{"no executable kube-apiserver in /nonexistent/bin/k8s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ""
			if c.files != nil {
				dir = dirWith(t, c.files)
			}
			t.Setenv(AssetsVar, strings.ReplaceAll(c.env, "<dir>", dir))
			got, err := Assets(strings.ReplaceAll(c.arg, "<dir>", dir))
			if c.wantErr == nil {
				if err != nil || got != dir {
					t.Fatalf("Assets = %q, %v; want %q, nil", got, err, dir)
				}
				return
			}
			if err == nil {
				t.Fatalf("Assets = %q, nil; want an error", got)
			}
			if !errors.Is(err, ErrNoControlPlane) {
				t.Errorf("error %q does not wrap ErrNoControlPlane", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// Start refuses before starting anything when the binaries are missing: no process is left behind and
// the error is the same one line.
func TestStartWithoutControlPlane(t *testing.T) {
	t.Setenv(AssetsVar, "")
	env := &envtest.Environment{}
	if cfg, err := Start(env); err == nil || !errors.Is(err, ErrNoControlPlane) || cfg != nil {
		t.Fatalf("Start = %v, %v; want ErrNoControlPlane", cfg, err)
	}
	if env.ControlPlane.APIServer != nil || env.ControlPlane.Etcd != nil {
		t.Errorf("Start set up a control plane although the binaries are missing")
	}
}
