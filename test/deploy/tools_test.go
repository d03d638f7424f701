package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds one run of kubectl, helm or make; generous, because the machine is shared.
const commandTimeout = 3 * time.Minute

// helmBin is the pinned helm the Makefile builds (bin/helm-v3.22.0), passed as HELM by `make test`. A missing
// helm fails the test, never skips it: the chart's checks are part of what `make test` proves.
func helmBin(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HELM")
	if path == "" {
		t.Fatal("HELM is not set: run the tests with `make test`, which builds bin/helm-v3.22.0 (`make helm`) " +
			"and passes its path as HELM")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("helm is missing at HELM=%s: build it with `make helm` (make test does it first): %v", path, err)
	}
	return path
}

// kubectlBin is the machine's kubectl (with its built-in kustomize), passed as KUBECTL by `make test`.
func kubectlBin(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KUBECTL")
	if path == "" {
		path = "kubectl"
	}
	resolved, err := exec.LookPath(path)
	if err != nil {
		t.Fatalf("kubectl (KUBECTL=%q) is not found: these tests need the machine's kubectl: %v", path, err)
	}
	return resolved
}

// runTool runs a command in the repository's top folder with KUBECONFIG pointing at the test control
// plane, feeds it stdin, and returns its stdout; a non-zero exit is an error carrying stderr.
func runTool(t *testing.T, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	cmd.Env = toolEnv()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\nstderr:\n%s\nstdout:\n%s",
			name, strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

// mustRun is runTool that fails the test on error.
func mustRun(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := runTool(t, stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// toolEnv is the test's environment with KUBECONFIG set to the test control plane's, so no tool can reach
// another cluster, and without the parent make's MAKEFLAGS/MAKELEVEL (a nested `make deploy` must not
// inherit `make test`'s jobserver or its variables).
func toolEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "KUBECONFIG", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "KUBECONFIG="+kubeconfig)
}
