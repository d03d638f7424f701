package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// applyForReal applies objects with `kubectl apply --server-side` and, for CRDs, waits until they are
// Established, so the custom kinds can be sent next.
func applyForReal(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	if len(objs) == 0 {
		return
	}
	kubectl := kubectlBin(t)
	mustRun(t, encodeObjects(t, objs), kubectl, "apply", "--server-side", "--force-conflicts", "-f", "-")
	for _, crd := range byKind(objs, "CustomResourceDefinition") {
		mustRun(t, nil, kubectl, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd.GetName())
	}
}

// dryRunAll sends every object to the API server with `kubectl apply --server-side --dry-run=server` and
// checks, object by object, that the server answered with it: admitted, defaulted and validated (schema,
// CEL, RBAC escalation checks, namespace existence) but not stored. It returns the server's versions.
func dryRunAll(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	out := mustRun(t, encodeObjects(t, objs), kubectlBin(t),
		"apply", "--server-side", "--dry-run=server", "--validate=strict", "-o", "json", "-f", "-")
	answered := parseKubectlJSON(t, out)
	if len(answered) != len(objs) {
		t.Errorf("sent %d objects, the server answered for %d", len(objs), len(answered))
	}
	for _, o := range objs {
		got, ok := answered[objKey(o)]
		if !ok {
			keys := make([]string, 0, len(answered))
			for k := range answered {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Errorf("the server did not answer for %s (answered: %v)", objKey(o), keys)
			continue
		}
		// Only the server sets these: the answer is the API server's, not an echo of our input.
		if got.GetUID() == "" || got.GetCreationTimestamp().Time.IsZero() {
			t.Errorf("%s: the dry-run answer has no uid/creationTimestamp, so it did not come from the server", objKey(o))
		}
	}
	// Dry: nothing of it was stored.
	assertGone(t, objs)
	return answered
}

// parseKubectlJSON reads kubectl's -o json output: one object, or a List of them.
func parseKubectlJSON(t *testing.T, out []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatalf("parsing kubectl's JSON output: %v\n%s", err, out)
	}
	var items []*unstructured.Unstructured
	if top["kind"] == "List" {
		list, _ := top["items"].([]any)
		for _, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				t.Fatalf("kubectl's List holds a non-object: %v", it)
			}
			items = append(items, &unstructured.Unstructured{Object: m})
		}
	} else {
		items = append(items, &unstructured.Unstructured{Object: top})
	}
	byKey := map[string]*unstructured.Unstructured{}
	for _, it := range items {
		byKey[objKey(it)] = it
	}
	return byKey
}

// createNamespace creates a namespace for real and deletes it when the test ends.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = name
	if err := k8sClient.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() { deleteNamespace(t, name) })
}

// deleteNamespace deletes a namespace and waits until it is gone. envtest runs no kube-controller-manager,
// so nothing empties and finalizes a Terminating namespace: this stands in for the namespace controller by
// removing the "kubernetes" finalizer once the namespace is marked for deletion (the objects the tests
// put in it are theirs to delete first).
func deleteNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{}
	ns.Name = name
	if err := k8sClient.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting namespace %s: %v", name, err)
		return
	}
	if err := finalizeNamespaceWhenTerminating(ctx, name); err != nil {
		t.Errorf("finalizing namespace %s: %v", name, err)
	}
}

// finalizeNamespaceWhenTerminating waits for a namespace to be marked for deletion, empties its
// spec.finalizers through the /finalize subresource (what the namespace controller does once the
// namespace is empty) and waits until it is gone.
func finalizeNamespaceWhenTerminating(ctx context.Context, name string) error {
	// controller-runtime's client does not reach a namespace's /finalize subresource: client-go's does.
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building a clientset for the test control plane: %w", err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			ns, err := clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			if err != nil {
				return false, fmt.Errorf("reading namespace %s: %w", name, err)
			}
			if ns.DeletionTimestamp == nil {
				return false, nil
			}
			if len(ns.Spec.Finalizers) > 0 {
				ns.Spec.Finalizers = nil
				if _, err := clientset.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil &&
					!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					return false, fmt.Errorf("finalizing namespace %s: %w", name, err)
				}
			}
			return false, nil
		})
}
