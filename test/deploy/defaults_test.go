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

package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// managerHelp is the manager's own --help (the binary built from cmd/manager): the defaults it prints are
// the ones it runs with, wherever they are written (controllers.DefaultOptions for the controllers'
// options), so the tests follow a change of a default instead of repeating it.
func managerHelp(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(buildManager(t), "--help").CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("manager --help: %v", err)
	}
	return string(out)
}

// flagDefault is the default --help prints for flag, unquoted: flag.PrintDefaults writes "  -name type",
// then the usage, which ends with "(default 30s)" (a string's default in quotes).
func flagDefault(t *testing.T, help, flag string) string {
	t.Helper()
	i := regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(flag) + `( \w+)?\n`).FindStringIndex(help)
	if i == nil {
		t.Fatalf("manager --help has no --%s:\n%s", flag, help)
	}
	usage, _, _ := strings.Cut(help[i[1]:], "\n  -")
	m := regexp.MustCompile(`\(default "?([^")]*)"?\)\s*$`).FindStringSubmatch(usage)
	if m == nil {
		t.Fatalf("manager --help: no default for --%s in %q", flag, usage)
	}
	return m[1]
}

// The chart's values that become the manager's flags default to what the manager does without them: a
// release installed with the default values runs the manager's defaults, and a change of a default in
// Go that the chart does not follow fails here.
func TestChartDefaultsAreTheManagers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		MaxConcurrentReconciles *int     `json:"maxConcurrentReconciles"`
		GracefulShutdownTimeout string   `json:"gracefulShutdownTimeout"`
		AllowedEndpoints        []string `json:"allowedEndpoints"`
		AllowedUploadHosts      []string `json:"allowedUploadHosts"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	help := managerHelp(t)
	same := func(value, flag, chartValue string, equal func(a, b string) bool) {
		t.Helper()
		if want := flagDefault(t, help, flag); !equal(chartValue, want) {
			t.Errorf("values.yaml %s = %q, the manager's --%s defaults to %q", value, chartValue, flag, want)
		}
	}
	text := func(a, b string) bool { return a == b }
	duration := func(a, b string) bool {
		da, errA := time.ParseDuration(a)
		db, errB := time.ParseDuration(b)
		return errA == nil && errB == nil && da == db
	}
	if values.MaxConcurrentReconciles == nil {
		t.Fatal("values.yaml has no maxConcurrentReconciles")
	}
	same("maxConcurrentReconciles", "max-concurrent-reconciles", strconv.Itoa(*values.MaxConcurrentReconciles), text)
	same("gracefulShutdownTimeout", "graceful-shutdown-timeout", values.GracefulShutdownTimeout, duration)
	same("allowedEndpoints", "allowed-endpoints", strings.Join(values.AllowedEndpoints, ","), text)
	same("allowedUploadHosts", "allowed-upload-hosts", strings.Join(values.AllowedUploadHosts, ","), text)
}
