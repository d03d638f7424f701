// Package kill kills the real manager binary with SIGKILL at random points while it publishes, and
// checks the invariants that must survive a crash. It has its own TestMain because the process under
// test connects through a kubeconfig file, which needs the envtest Environment the e2e package keeps
// to itself.
package kill

import (
	"fmt"
	"os"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/test/scale/fleet"
)

var (
	cp         *fleet.ControlPlane
	managerBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kill-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// The control plane first: without one, the test says so in one line before a build it cannot use.
	if cp, err = fleet.StartControlPlane(dir); err != nil {
		fmt.Fprintln(os.Stderr, "test/kill:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	if managerBin, err = fleet.BuildManager(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
