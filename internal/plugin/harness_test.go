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
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// update rewrites the golden files in testdata/ with what the commands print now.
var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// cluster is the test control plane: a real kube-apiserver and etcd (envtest) with the CRDs, started by
// the first test that needs it and stopped by TestMain.
type cluster struct {
	env        *envtest.Environment
	cfg        *rest.Config
	client     client.Client
	scheme     *runtime.Scheme
	kubeconfig string
}

var (
	clusterOnce sync.Once
	theCluster  *cluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(discard{})))
	code := m.Run()
	if theCluster != nil {
		if err := theCluster.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the test control plane: %v\n", err)
		}
		_ = os.RemoveAll(filepath.Dir(theCluster.kubeconfig))
	}
	os.Exit(code)
}

// testCluster starts the control plane once; without kube-apiserver the test fails with how to build it.
func testCluster(t *testing.T) *cluster {
	t.Helper()
	clusterOnce.Do(func() { theCluster, clusterErr = startCluster() })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return theCluster
}

// SharedTestCluster is testCluster for the package's external tests (package plugin_test: connect's),
// so that one test binary starts one control plane.
func SharedTestCluster(t *testing.T) (*rest.Config, client.Client, string) {
	t.Helper()
	c := testCluster(t)
	return c.cfg, c.client, c.kubeconfig
}

// StartTestOperator runs the production controllers on a manager built like cmd/manager's, watching ns,
// its logs to logs. stop cancels it and returns how it ended. The package's tests and connect's (package
// plugin_test) both run the operator through it.
func StartTestOperator(cfg *rest.Config, scheme *runtime.Scheme, ns string, opts controllers.Options,
	logs io.Writer) (stop func() error, err error) {
	mgr, err := ctrl.NewManager(cfg, testenv.ManagerOptions(scheme, ns, zap.New(zap.WriteTo(logs), zap.UseDevMode(true))))
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := controllers.Setup(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	return testenv.RunManager(mgr), nil
}

func startCluster() (*cluster, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testenv.Start(env) // one line saying to run make test when the control plane is missing
	if err != nil {
		return nil, fmt.Errorf("internal/plugin: %w", err)
	}
	c := &cluster{env: env, cfg: cfg, scheme: runtime.NewScheme()}
	utilruntime.Must(clientgoscheme.AddToScheme(c.scheme))
	utilruntime.Must(publishv1alpha1.AddToScheme(c.scheme))
	if c.client, err = client.New(cfg, client.Options{Scheme: c.scheme}); err != nil {
		_ = env.Stop()
		return nil, err
	}
	// The commands read a kubeconfig file, as kubectl does (--kubeconfig).
	user, err := env.AddUser(envtest.User{Name: "plugin-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("adding the test user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubectl-tiktok-test-")
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, kc, 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return c, nil
}

// result is what one run of kubectl-tiktok printed and returned.
type result struct {
	out, errOut string
	err         error
}

// runPlugin runs kubectl-tiktok with args (and --kubeconfig when kubeconfig is set), stdin as its input
// and clk as its clock.
func runPlugin(t *testing.T, kubeconfig, stdin string, clk clock.PassiveClock, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if clk == nil {
		clk = clock.RealClock{}
	}
	root := newRootCommand(newOptions(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, clk))
	if kubeconfig != "" {
		args = append(args, "--kubeconfig", kubeconfig)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// compareGolden compares got with testdata/name, or rewrites it with -update.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (go test -run %s -update writes it): %v", path, t.Name(), err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test -run %s -update rewrites it after review)\n--- got:\n%s\n--- want:\n%s",
			path, t.Name(), got, want)
	}
}

var (
	relativeTime = regexp.MustCompile(`\bin \d[0-9dhms]*|\b\d[0-9dhms]* ago\b`)
	// statusFetchUse is the statusFetch row's count: how often the operator polled TikTok while posts
	// processed depends on timing.
	statusFetchUse = regexp.MustCompile(`(?m)^statusFetch +\d+`)
	spaceRun       = regexp.MustCompile(` {2,}`)
)

// normalise makes the output of a run against a live operator comparable: the relative times become
// <rel> and, since their width moved the columns, runs of spaces become two spaces. The replacements
// list further run-dependent values (publish ids, intent ids) to mask.
func normalise(s string, replacements ...string) string {
	s = strings.NewReplacer(replacements...).Replace(s)
	s = relativeTime.ReplaceAllString(s, "<rel>")
	s = statusFetchUse.ReplaceAllString(s, "statusFetch  <n>")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(spaceRun.ReplaceAllString(l, "  "), " ")
	}
	return strings.Join(lines, "\n")
}
