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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// envtestPkg is what a test binary links when it starts a control plane (through this package).
const envtestPkg = "sigs.k8s.io/controller-runtime/pkg/envtest"

// self is this package: it links envtest but its own tests only look at folders, so it is a unit package.
const self = "github.com/tiktok-operator/tiktok-operator/internal/testenv"

// The Makefile's UNIT_PACKAGES (make test-unit) are exactly the packages whose tests need no API server:
// none of them links envtest, so the fast loop never needs a control plane, and every package with tests
// that does not link it is listed, so no test is left to the slow loop alone by oversight.
func TestUnitPackagesComplete(t *testing.T) {
	root := filepath.Join("..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatalf("reading the Makefile: %v", err)
	}
	m := regexp.MustCompile(`(?m)^UNIT_PACKAGES\s*[:?]?=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no UNIT_PACKAGES = <package patterns> line (make test-unit runs them)")
	}
	patterns := strings.Fields(string(m[1]))

	unit := testedPackages(t, root, patterns...)
	if len(unit) == 0 {
		t.Fatalf("UNIT_PACKAGES %v match no package with tests", patterns)
	}
	for pkg, envtest := range unit {
		if envtest && pkg != self {
			t.Errorf("%s is in UNIT_PACKAGES but its tests start a control plane (they link envtest): "+
				"take it out, make test runs it", pkg)
		}
	}
	for pkg, envtest := range testedPackages(t, root, "./...") {
		if _, listed := unit[pkg]; !listed && (!envtest || pkg == self) {
			t.Errorf("%s has tests that need no API server but is not in the Makefile's UNIT_PACKAGES: add it "+
				"(make test-unit)", pkg)
		}
	}
}

// testedPackages lists the packages matching patterns that have test files, each with whether its test
// binary links envtest.
func testedPackages(t *testing.T, root string, patterns ...string) map[string]bool {
	t.Helper()
	// -test lists every package's test binary ("p.test") with the test variant's dependencies.
	args := append([]string{"list", "-test", "-f",
		`{{if .ForTest}}{{.ForTest}}{{"\t"}}{{join .Deps " "}}{{end}}`}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	pkgs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		pkgs[pkg] = pkgs[pkg] || slices.Contains(strings.Fields(deps), envtestPkg)
	}
	return pkgs
}
