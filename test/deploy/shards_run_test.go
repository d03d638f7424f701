package deploy

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestShardedReleasesInOneNamespace runs two releases of the chart in one namespace, sharded by
// accountSelector (shard=a, shard=b), each with the production manager binary, --leader-elect, its
// chart's --leader-election-id (the release's full name) and its ServiceAccount's rights. Each must
// become leader of its own Lease (with one shared ID the second would wait for ever) and publish its
// shard's post.
func TestShardedReleasesInOneNamespace(t *testing.T) {
	const (
		releaseNS = "tiktok-shards"
		watched   = "tiktok-shards-team"
	)
	manager := buildManager(t)
	sim := tiktoksim.New(simConfig())
	simServer := httptest.NewServer(sim)
	t.Cleanup(simServer.Close)
	createNamespace(t, releaseNS)
	createNamespace(t, watched)

	type release struct {
		name, shard, leaseName string
		post                   *v1alpha1.TikTokPost
		logs                   *processLogs
	}
	releases := []*release{{name: "tiktok-shard-a", shard: "a"}, {name: "tiktok-shard-b", shard: "b"}}
	var tokens []string
	for _, r := range releases {
		objs := renderChart(t, r.name, releaseNS, "--set", "watchNamespaces={"+watched+"}",
			"--set", "accountSelector=shard="+r.shard,
			"--set", "allowedEndpoints={"+simServer.URL+"}",
			"--set", "extraArgs={--status-poll-initial=300ms}")
		prereqs, rest := splitPrerequisites(objs)
		applyForReal(t, prereqs)
		applyForReal(t, rest)
		t.Cleanup(func() {
			if _, err := runTool(t, encodeObjects(t, rest), kubectlBin(t), "delete", "--wait=false", "-f", "-"); err != nil {
				t.Error(err)
			}
		})
		args, probeAddr := localArgs(t, managerArgs(t, onlyOne(t, rest, "Deployment")))
		for _, a := range args {
			if id, ok := strings.CutPrefix(a, "--leader-election-id="); ok {
				r.leaseName = id
			}
		}
		if r.leaseName != r.name+"-tiktok-operator" && r.leaseName != r.name {
			t.Fatalf("release %s: the chart passes --leader-election-id=%q, want the release's full name", r.name, r.leaseName)
		}
		if !slices.Contains(args, "--leader-elect") {
			t.Fatalf("release %s: the chart does not pass --leader-elect: %q", r.name, args)
		}
		sa := onlyOne(t, rest, "ServiceAccount")
		kubeconfig, err := writeKubeconfig(testEnv, t.TempDir(), envtest.User{
			Name:   fmt.Sprintf("system:serviceaccount:%s:%s", releaseNS, sa.GetName()),
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"},
		})
		if err != nil {
			t.Fatal(err)
		}
		account := "acct-" + r.shard
		tokens = append(tokens, createAccount(t, sim, simServer.URL, watched, account, r.shard)...)
		r.post = &v1alpha1.TikTokPost{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-" + r.shard, Namespace: watched},
			Spec: v1alpha1.TikTokPostSpec{
				AccountRef:   v1alpha1.LocalObjectReference{Name: account},
				Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/hello.mp4"},
				Title:        "hello " + r.shard,
				PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
			},
		}
		if err := k8sClient.Create(context.Background(), r.post); err != nil {
			t.Fatalf("creating the post: %v", err)
		}
		args = append(args, "--kubeconfig="+kubeconfig, "--leader-election-namespace="+releaseNS)
		r.logs = startProcess(t, manager, args...)
		waitReady(t, r.name+"'s /readyz", probeAddr, r.logs)
	}
	if releases[0].leaseName == releases[1].leaseName {
		t.Fatalf("both releases use the leader election Lease %q", releases[0].leaseName)
	}

	ctx := context.Background()
	for _, r := range releases {
		waitFor(t, r.name+" leader of its Lease "+r.leaseName, func() (bool, error) {
			var l coordinationv1.Lease
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: r.leaseName}, &l); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
		}, r.logs)
	}
	for _, r := range releases {
		waitFor(t, r.name+"'s post Published", func() (bool, error) {
			var p v1alpha1.TikTokPost
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(r.post), &p); err != nil {
				return false, err
			}
			if p.Status.Phase == v1alpha1.PhaseFailed {
				return false, fmt.Errorf("the post failed: %+v", p.Status.LastError)
			}
			return p.Status.Phase == v1alpha1.PhasePublished, nil
		}, r.logs)
	}
	for _, r := range releases {
		stopProcess(t, r.logs)
		out := r.logs.String()
		if strings.Contains(out, "orbidden") {
			t.Errorf("%s was refused by the API server:\n%s", r.name, grepLines(out, "orbidden"))
		}
		for _, secret := range tokens {
			if strings.Contains(out, secret) {
				t.Errorf("a credential appears in %s's logs", r.name)
			}
		}
	}
}
