// Package deploy proves the packaging installs: the kustomize bases (config/) and the Helm chart
// (charts/tiktok-operator) are rendered with the machine's kubectl and the pinned helm, and every object
// they produce is sent to a real kube-apiserver and etcd (envtest) with a server-side dry-run, or applied
// for real by the Makefile's install/deploy targets. No operator runs here: envtest has no kubelet, so the
// Deployment's pods never start; the objects themselves are what is checked.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

var (
	// repoRoot is the repository's top folder: the Makefile, config/ and charts/ are read from there.
	repoRoot string
	// kubeconfig is a file the command-line tools (kubectl, make deploy) use to reach the test control plane.
	kubeconfig string
	cfg        *rest.Config
	k8sClient  client.Client
	// testEnv is the control plane, kept to add users (a ServiceAccount's identity) to it.
	testEnv *envtest.Environment
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))

	// No CRD is installed up front: installing them is part of what the tests check.
	env := &envtest.Environment{}
	testEnv = env
	var err error
	if cfg, err = testenv.Start(env); err != nil {
		fmt.Fprintln(os.Stderr, "test/deploy:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	dir, err := os.MkdirTemp("", "tiktok-operator-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if kubeconfig, err = writeKubeconfig(env, dir, envtest.User{Name: "deploy-test-admin",
		Groups: []string{"system:masters"}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	if err := v1alpha1.AddToScheme(scheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.Scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// writeKubeconfig writes a kubeconfig for a user of the test control plane (authenticated by a client
// certificate), the way a user's kubeconfig reaches a real cluster: kubectl, helm, make and the manager
// only ever see this file.
func writeKubeconfig(env *envtest.Environment, dir string, u envtest.User) (string, error) {
	user, err := env.AddUser(u, nil)
	if err != nil {
		return "", fmt.Errorf("adding a test user to the control plane: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the test user's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "kubeconfig-"+strings.NewReplacer(":", "-", "/", "-").Replace(u.Name))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
