package deploy

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// runMake runs a Makefile target against the test control plane (KUBECONFIG is its kubeconfig). `-o
// manifests` keeps make from regenerating config/ while other packages' tests read it: `make test` has
// just generated it, and CI checks it is up to date.
func runMake(t *testing.T, target string, vars ...string) {
	t.Helper()
	args := append([]string{"-s", "-o", "manifests", target, "KUBECTL=" + kubectlBin(t)}, vars...)
	mustRun(t, nil, "make", args...)
}

// TestMakeInstallUninstall installs the CRDs with `make install`, checks the API server serves both kinds,
// and removes them with `make uninstall`.
func TestMakeInstallUninstall(t *testing.T) {
	crds := byKind(decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "crd"))),
		"CustomResourceDefinition")
	if len(crds) != 2 {
		t.Fatalf("config/crd renders %d CRDs, want 2", len(crds))
	}
	runMake(t, "install")
	for _, crd := range crds {
		mustRun(t, nil, kubectlBin(t), "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd.GetName())
	}
	// The kinds are served: listing them works through the API server's discovery.
	for _, resource := range []string{"accountquotas.publish.tiktok-operator.dev", "tiktokposts.publish.tiktok-operator.dev"} {
		mustRun(t, nil, kubectlBin(t), "get", resource, "--all-namespaces")
	}

	runMake(t, "uninstall")
	assertGone(t, crds)
}

// TestMakeDeployUndeploy deploys the whole operator with `make deploy IMG=...`, checks every object of
// config/default exists (the Deployment with the image asked for), then removes it with `make undeploy` and
// checks every object is gone. The Deployment's pods never run: envtest has no kubelet.
func TestMakeDeployUndeploy(t *testing.T) {
	const img = "registry.example.com/tiktok-operator:deploy-test"
	managerYAML := filepath.Join(repoRoot, "config", "manager", "manager.yaml")
	before, err := os.ReadFile(managerYAML)
	if err != nil {
		t.Fatal(err)
	}
	want := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "default")))

	runMake(t, "deploy", "IMG="+img)
	ctx := context.Background()
	for _, o := range want {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
			t.Errorf("after make deploy, %s: %v", objKey(o), err)
			continue
		}
		if o.GetKind() == "Deployment" {
			wantString(t, got, img, "spec", "template", "spec", "containers", "0", "image")
		}
	}
	after, err := os.ReadFile(managerYAML)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("make deploy changed config/manager/manager.yaml in the repository (it must edit a copy)")
	}

	// kubectl delete waits for the namespace to be gone; envtest has no namespace controller to finish it,
	// so finalizeNamespaceWhenTerminating does its last step once make undeploy has marked it.
	done := make(chan error, 1)
	go func() { done <- finalizeNamespaceWhenTerminating(ctx, onlyOne(t, want, "Namespace").GetName()) }()
	runMake(t, "undeploy")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertGone(t, want)
}

// assertGone checks that none of the objects exists any more.
func assertGone(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(o.GroupVersionKind())
		err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(o), probe)
		if err == nil {
			t.Errorf("%s still exists", objKey(o))
		} else if !apierrors.IsNotFound(err) {
			t.Errorf("checking %s is gone: %v", objKey(o), err)
		}
	}
}
