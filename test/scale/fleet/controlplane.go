// Package fleet sets up what the kill test and the scale program both need and that the in-process e2e
// harness cannot give: a real kube-apiserver and etcd (envtest) reachable through a kubeconfig file, the
// production manager built from cmd/manager and run as a child process (so it can be killed with
// SIGKILL and its memory read from /proc), and many accounts with their simulator creators and labelled
// Secrets. Nothing here is faked: the simulator is the only stand-in, for TikTok.
package fleet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// Root is the repository's root directory (found from this file, so it works from any package).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// ControlPlane is a running envtest with an admin kubeconfig written to disk for child processes.
type ControlPlane struct {
	Env        *envtest.Environment
	Config     *rest.Config // the admin's config, QPS and Burst raised for bulk creates
	Client     client.Client
	Kubeconfig string // path of a kubeconfig for the admin user
}

// StartControlPlane starts kube-apiserver and etcd with the project's CRDs installed and writes an
// admin kubeconfig into dir, from the binaries in KUBEBUILDER_ASSETS (make test, make bench-scale).
func StartControlPlane(dir string) (*ControlPlane, error) {
	// envtest logs through controller-runtime's logger; without one it prints a warning with a stack.
	logf.SetLogger(logr.Discard())
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if _, err := testenv.Start(env); err != nil {
		return nil, err
	}
	cp := &ControlPlane{Env: env}
	if err := cp.init(dir); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) init(dir string) error {
	user, err := cp.Env.AddUser(envtest.User{Name: "fleet-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding an admin user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering the admin kubeconfig: %w", err)
	}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kc, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	cp.Config = rest.CopyConfig(user.Config())
	cp.Config.QPS, cp.Config.Burst = 2000, 4000
	if err := v1alpha1.AddToScheme(scheme.Scheme); err != nil {
		return fmt.Errorf("registering the API types: %w", err)
	}
	if cp.Client, err = client.New(cp.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	return nil
}

// Stop stops the control plane.
func (cp *ControlPlane) Stop() error { return cp.Env.Stop() }

// BuildManager builds cmd/manager into dir and returns the binary's path.
func BuildManager(dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cmd/manager: %w\n%s", err, out)
	}
	return bin, nil
}
