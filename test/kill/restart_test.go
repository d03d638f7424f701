package kill

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/scale/fleet"
)

// TestRestartAfterSIGKILLTakesItsLeasesAtOnce is a container restart after a crash (OOMKilled, a failed
// liveness probe): the manager runs with --identity-file in a directory that outlives it (the chart's
// emptyDir), with leader election on, and is killed with SIGKILL while it publishes. The account Leases
// last an hour, so a successor under a new name could publish nothing for an hour; the restarted process
// proves its predecessor dead by the file's lock, takes its name, leads at once (the leader-election
// Lease's transitions unchanged) and holds the account Leases at once, and every post ends within the
// test's few minutes, each accepted at most once and no init refused.
func TestRestartAfterSIGKILLTakesItsLeasesAtOnce(t *testing.T) {
	const accounts, perAccount, limit = 2, 15, 6
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restart-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	lim := fleet.Limits{PostInit: limit, Window: 3 * time.Second, MinInterval: 100 * time.Millisecond}
	sim := tiktoksim.New(fleet.SimConfig(lim))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	for a := range accounts {
		if err := fleet.CreateAccount(ctx, cp.Client, sim, srv.URL, ns.Name, fmt.Sprintf("acct-%d", a), lim); err != nil {
			t.Fatal(err)
		}
	}
	for i := range accounts * perAccount {
		a := i % accounts
		if err := cp.Client.Create(ctx, fleet.Post(ns.Name, fmt.Sprintf("acct-%d-%02d", a, i/accounts), fmt.Sprintf("acct-%d", a))); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	idFile := filepath.Join(dir, "identity")
	logPath := filepath.Join(dir, "manager.log")
	args := []string{"--namespaces=" + ns.Name, "--allowed-endpoints=" + srv.URL, "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--account-status-interval=500ms", "--status-poll-initial=500ms",
		"--status-poll-max=1s", "--account-lease-duration=1h", "--identity-file=" + idFile,
		"--leader-elect", "--leader-election-namespace=" + ns.Name, "--leader-election-id=restart-test"}

	first, err := fleet.StartManager(managerBin, cp.Kubeconfig, logPath, args...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "5 posts published by the first manager", func() bool {
		return phases(t, ns.Name)[v1alpha1.PhasePublished] >= 5
	})
	if _, err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(b))
	leader := getLease(t, ns.Name, "restart-test")
	if ptr.Deref(leader.Spec.HolderIdentity, "") != name {
		t.Fatalf("the leader-election Lease is held by %q, want the identity file's %q", ptr.Deref(leader.Spec.HolderIdentity, ""), name)
	}
	transitions := ptr.Deref(leader.Spec.LeaseTransitions, 0)
	t.Logf("killed after %d published: %v", phases(t, ns.Name)[v1alpha1.PhasePublished], phases(t, ns.Name))

	second, err := fleet.StartManager(managerBin, cp.Kubeconfig, logPath, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	waitFor(t, 3*time.Minute, "every post ended after the restart (an hour with a new name)", func() bool {
		return allEnded(t, ns.Name)
	})
	t.Logf("every post ended %s after the restart", time.Since(second.Started).Round(time.Millisecond))

	leader = getLease(t, ns.Name, "restart-test")
	if h := ptr.Deref(leader.Spec.HolderIdentity, ""); h != name || ptr.Deref(leader.Spec.LeaseTransitions, 0) != transitions {
		t.Errorf("leader-election Lease after the restart: holder %q, transitions %d; want %q, %d (the same holder, no transition)",
			h, ptr.Deref(leader.Spec.LeaseTransitions, 0), name, transitions)
	}
	var leases coordinationv1.LeaseList
	if err := cp.Client.List(ctx, &leases, client.InNamespace(ns.Name), client.HasLabels{controllers.AccountLeaseLabel}); err != nil {
		t.Fatal(err)
	}
	if len(leases.Items) != accounts {
		t.Errorf("%d account Leases, want %d", len(leases.Items), accounts)
	}
	for _, l := range leases.Items {
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != name {
			t.Errorf("account Lease %s is held by %q, want %q", l.Name, h, name)
		}
	}
	logs, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "taking its name and its Leases over") {
		t.Errorf("the restarted manager did not say it took its predecessor's name over")
	}

	seen := map[string]int{}
	for _, a := range sim.Posts() {
		seen[a.Title]++
	}
	for _, p := range listPosts(t, ns.Name) {
		if seen[p.Name] > 1 {
			t.Errorf("%s was accepted %d times", p.Name, seen[p.Name])
		}
		if p.Status.Phase != v1alpha1.PhasePublished && p.Status.Phase != v1alpha1.PhaseFailed {
			t.Errorf("%s ended %s", p.Name, p.Status.Phase)
		}
	}
	stats := sim.Stats()
	for a := range accounts {
		st := stats.Get(fleet.SimName(ns.Name, fmt.Sprintf("acct-%d", a)), tiktoksim.EndpointVideoInit)
		for code, n := range st.RateLimited {
			t.Errorf("acct-%d: %d inits answered 429 (%s)", a, n, code)
		}
	}
}

func getLease(t *testing.T, ns, name string) *coordinationv1.Lease {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// waitFor polls cond every 200 ms until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
