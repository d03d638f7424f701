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

// Package testenv starts the real kube-apiserver and etcd (controller-runtime's envtest) that the suites
// needing an API server run against: test/e2e, test/crd, test/deploy, test/kill, test/scale, test/bench
// and hack/demo. Every one of them goes through Start, so that a missing control plane is reported the
// same way everywhere: one line that says how to get it, instead of envtest's own wall of errors.
//
// The tests that need no API server (make test-unit) never import this package; the check that the
// Makefile's list of them is complete lives here too (unitpackages_test.go). ManagerOptions and
// RunManager (manager.go) build and run the in-process manager those suites start, one way for all.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// AssetsVar is the environment variable envtest reads the binaries' folder from; make test sets it.
const AssetsVar = "KUBEBUILDER_ASSETS"

// binaries are what envtest runs from the assets folder.
var binaries = []string{"kube-apiserver", "etcd"}

// howToGet ends every error of a missing control plane: the one command that builds it and runs the tests.
const howToGet = "run `make test`, which builds kube-apiserver and etcd into bin/k8s/ and sets " + AssetsVar +
	" (`make test-unit` runs the tests that need no API server)"

// ErrNoControlPlane is wrapped by every error of Assets: the binaries are not where they should be.
var ErrNoControlPlane = errors.New("no test control plane")

// Assets returns the folder holding kube-apiserver and etcd: dir, or $KUBEBUILDER_ASSETS when dir is
// empty. It fails, with one line naming what is missing and saying to run make test, when neither is set
// or the folder lacks an executable kube-apiserver or etcd.
func Assets(dir string) (string, error) {
	from := "the assets folder"
	if dir == "" {
		dir, from = os.Getenv(AssetsVar), AssetsVar
	}
	if dir == "" {
		return "", fmt.Errorf("%w: %s is not set: %s", ErrNoControlPlane, AssetsVar, howToGet)
	}
	for _, b := range binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: no executable %s in %s (%s): %s", ErrNoControlPlane, b, dir, from, howToGet)
		}
	}
	return dir, nil
}

// Start checks the binaries (env.BinaryAssetsDirectory, or $KUBEBUILDER_ASSETS when that is empty) and
// starts env from them. Its error is one line when the control plane is missing.
func Start(env *envtest.Environment) (*rest.Config, error) {
	dir, err := Assets(env.BinaryAssetsDirectory)
	if err != nil {
		return nil, err
	}
	env.BinaryAssetsDirectory = dir
	cfg, err := env.Start()
	if err != nil {
		// A half-started environment (etcd up, the API server not) leaves processes behind without this.
		_ = env.Stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", dir, err)
	}
	return cfg, nil
}
