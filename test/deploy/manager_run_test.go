package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// TestChartRunsManagerWithItsRBAC runs the production manager binary (cmd/manager) with the args of the
// chart's Deployment, as the chart's ServiceAccount, holding only the rights the chart's RBAC grants: it
// must take the leader-election Lease, read the labelled credentials Secret, fetch the creator from the
// simulator and publish a post of its account shard, leave the other shard's account alone, and never be
// refused by the API server. This is what proves the chart's flags exist and its RBAC is enough; the drift
// test proves it is no more than config/rbac.
func TestChartRunsManagerWithItsRBAC(t *testing.T) {
	const (
		release   = "tiktok"
		releaseNS = "tiktok-run"
		watched   = "tiktok-run-team"
	)
	manager := buildManager(t)
	sim := tiktoksim.New(simConfig())
	simServer := httptest.NewServer(sim) // listens on 127.0.0.1
	t.Cleanup(simServer.Close)
	objs := renderChart(t, release, releaseNS, "--set", "watchNamespaces={"+watched+"}",
		"--set", "accountSelector=shard=a", "--set", "logging.level=debug",
		// The simulator is the only API endpoint the manager may call.
		"--set", "allowedEndpoints={"+simServer.URL+"}",
		// Only to be quick: the first status poll after the post's init.
		"--set", "extraArgs={--status-poll-initial=300ms}")

	createNamespace(t, releaseNS)
	createNamespace(t, watched)
	prereqs, rest := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	applyForReal(t, rest)
	t.Cleanup(func() {
		if _, err := runTool(t, encodeObjects(t, rest), kubectlBin(t), "delete", "--wait=false", "-f", "-"); err != nil {
			t.Error(err)
		}
	})

	// The ServiceAccount's identity: the user name and groups a pod's token would authenticate as.
	sa := onlyOne(t, rest, "ServiceAccount")
	saKubeconfig, err := writeKubeconfig(testEnv, t.TempDir(), envtest.User{
		Name:   fmt.Sprintf("system:serviceaccount:%s:%s", releaseNS, sa.GetName()),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"},
	})
	if err != nil {
		t.Fatal(err)
	}

	tokens := make([]string, 0, 8)
	for _, shard := range []string{"a", "b"} {
		tokens = append(tokens, createAccount(t, sim, simServer.URL, watched, "shard-"+shard, shard)...)
	}
	post := &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: watched},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: "shard-a"},
			Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/hello.mp4"},
			Title:        "hello",
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
	if err := k8sClient.Create(context.Background(), post); err != nil {
		t.Fatalf("creating the post: %v", err)
	}

	args, probeAddr := localArgs(t, managerArgs(t, onlyOne(t, rest, "Deployment")))
	args = append(args, "--kubeconfig="+saKubeconfig, "--leader-election-namespace="+releaseNS)
	logs := startProcess(t, manager, args...)
	ctx := context.Background()

	waitReady(t, "the manager's /readyz", probeAddr, logs)
	waitFor(t, "the leader-election Lease", func() (bool, error) {
		var leases coordinationv1.LeaseList
		if err := k8sClient.List(ctx, &leases, client.InNamespace(releaseNS)); err != nil {
			return false, err
		}
		return len(leases.Items) > 0, nil
	}, logs)
	waitFor(t, "AccountQuota shard-a Ready with its creator", func() (bool, error) {
		var aq v1alpha1.AccountQuota
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: watched, Name: "shard-a"}, &aq); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(aq.Status.Conditions, "Ready") && aq.Status.Creator != nil &&
			aq.Status.Creator.Username == "shard-a", nil
	}, logs)
	waitFor(t, "the post Published, its finalizer gone", func() (bool, error) {
		var p v1alpha1.TikTokPost
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(post), &p); err != nil {
			return false, err
		}
		if p.Status.Phase == v1alpha1.PhaseFailed {
			return false, fmt.Errorf("the post failed: %+v", p.Status.LastError)
		}
		// The last status is stored before the finalizer goes (ensureFinalizer runs after the status
		// write), so an ended post is Published and then, a write later, free of the finalizer.
		return p.Status.Phase == v1alpha1.PhasePublished && len(p.Finalizers) == 0, nil
	}, logs)

	// The other shard's account is not this release's: never reconciled.
	var other v1alpha1.AccountQuota
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: watched, Name: "shard-b"}, &other); err != nil {
		t.Fatal(err)
	}
	if other.Status.ObservedGeneration != 0 || len(other.Status.Conditions) != 0 {
		t.Errorf("AccountQuota shard-b (shard=b) was reconciled by the shard=a release: %+v", other.Status)
	}

	stopProcess(t, logs)
	// A post that has ended carries no finalizer: deleting it (or the CRDs) needs no running operator.
	var ended v1alpha1.TikTokPost
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(post), &ended); err != nil {
		t.Fatal(err)
	}
	if len(ended.Finalizers) != 0 {
		t.Errorf("the published post keeps the finalizers %v after the manager stopped", ended.Finalizers)
	}
	out := logs.String()
	for _, refused := range []string{"forbidden", "Forbidden"} {
		if strings.Contains(out, refused) {
			t.Errorf("the manager was refused by the API server with the chart's RBAC:\n%s", grepLines(out, refused))
		}
	}
	for _, secret := range tokens {
		if strings.Contains(out, secret) {
			t.Errorf("a credential appears in the manager's logs")
		}
	}
}

// simConfig is the simulator's default (TikTok's documented limits) with a short processing time.
func simConfig() tiktoksim.Config {
	c := tiktoksim.DefaultConfig()
	c.Processing.Delay = tiktoksim.Duration(300 * time.Millisecond)
	c.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	return c
}

// createAccount adds an account to the simulator and declares it: the labelled credentials Secret and an
// AccountQuota in shard `shard`. It returns the account's secrets, which must never reach a log.
func createAccount(t *testing.T, sim *tiktoksim.Server, simURL, ns, name, shard string) []string {
	t.Helper()
	a, err := sim.AddAccount(tiktoksim.Account{Name: ns + "-" + name, Creator: tiktoksim.CreatorInfo{Username: name}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sec := fixture.CredentialsSecret(ns, name, a)
	if err := k8sClient.Create(ctx, sec); err != nil {
		t.Fatalf("creating Secret %s: %v", sec.Name, err)
	}
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"shard": shard}},
		Spec: v1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             simURL,
			AllowedMediaPrefixes: []string{"https://cdn.example.com/"},
		},
	}
	if err := k8sClient.Create(ctx, aq); err != nil {
		t.Fatalf("creating AccountQuota %s: %v", name, err)
	}
	return []string{a.ClientSecret, a.AccessToken, a.RefreshToken}
}

// localArgs rewrites the chart's bind addresses (all interfaces, fixed ports: a pod's) to loopback ones
// this shared machine can use: the probes on a free port (returned), metrics on an ephemeral one; and the
// identity file, on the pod's emptyDir, to one in a test folder. It fails if the chart stops passing
// either address, so the test keeps following the chart.
func localArgs(t *testing.T, args []string) ([]string, string) {
	t.Helper()
	probeAddr := freeLoopbackAddr(t)
	out := make([]string, 0, len(args))
	var probe, metrics bool
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--health-probe-bind-address="):
			a, probe = "--health-probe-bind-address="+probeAddr, true
		case strings.HasPrefix(a, "--metrics-bind-address="):
			a, metrics = "--metrics-bind-address=127.0.0.1:0", true
		case strings.HasPrefix(a, "--identity-file="):
			a = "--identity-file=" + filepath.Join(t.TempDir(), "identity")
		}
		out = append(out, a)
	}
	if !probe || !metrics {
		t.Fatalf("the chart's args lack --health-probe-bind-address or --metrics-bind-address: %q", args)
	}
	return out, probeAddr
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// buildManager builds cmd/manager, the production binary the image runs, into the test's folder.
func buildManager(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "manager")
	mustRun(t, nil, "go", "build", "-o", bin, "./cmd/manager")
	return bin
}

// processLogs is a running process's combined output, safe to read while it writes.
type processLogs struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	cmd  *exec.Cmd
	done chan error
	stop sync.Once
}

func (l *processLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *processLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startProcess starts a program with the tools' environment; it is stopped at cleanup at the latest.
func startProcess(t *testing.T, bin string, args ...string) *processLogs {
	t.Helper()
	logs := &processLogs{done: make(chan error, 1)}
	logs.cmd = exec.Command(bin, args...)
	logs.cmd.Env = toolEnv()
	logs.cmd.Stdout, logs.cmd.Stderr = logs, logs
	if err := logs.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { logs.done <- logs.cmd.Wait() }()
	t.Cleanup(func() { stopProcess(t, logs) })
	return logs
}

// stopProcess sends SIGTERM, as the kubelet would, and waits for the process to end (killing it after
// a minute); it may be called more than once.
func stopProcess(t *testing.T, logs *processLogs) {
	t.Helper()
	logs.stop.Do(func() {
		_ = logs.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-logs.done:
		case <-time.After(time.Minute):
			_ = logs.cmd.Process.Kill()
			<-logs.done
			t.Errorf("the manager did not stop within a minute of SIGTERM")
		}
	})
}

// waitReady waits until the manager's /readyz at probeAddr answers 200 (what names it in a failure).
func waitReady(t *testing.T, what, probeAddr string, logs *processLogs) {
	t.Helper()
	waitFor(t, what, func() (bool, error) {
		resp, err := http.Get("http://" + probeAddr + "/readyz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}, logs)
}

// waitFor polls cond for up to two minutes (a shared, loaded machine), failing with the process's logs.
func waitFor(t *testing.T, what string, cond func() (bool, error), logs *processLogs) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true,
		func(context.Context) (bool, error) {
			select {
			case err := <-logs.done:
				logs.done <- err
				return false, fmt.Errorf("the manager exited: %v", err)
			default:
			}
			return cond()
		})
	if err != nil {
		t.Fatalf("waiting for %s: %v\nmanager logs:\n%s", what, err, logs.String())
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
