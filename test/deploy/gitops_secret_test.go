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

package deploy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/normalize"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// The recipes of docs/gitops.md for keeping the operator's token rotation when a GitOps tool or a secret
// manager also writes the credentials Secret. The operator's write is what controllers/accountquota_credentials.go's
// writeSecret does: a read of the live Secret, then an Update that sets the rotated keys, under the
// manager's field manager. The operator itself is not run here (test/deploy/manager_run_test.go runs it);
// its write is reproduced with the same request, so what is checked is how the real API server's
// server-side apply treats the other tool's next write.

// operatorFieldManager is the field manager of the operator's writes: the API server names an Update
// without a fieldManager after the client's user agent, the binary's name (cmd/manager builds `manager`).
const operatorFieldManager = "manager"

// operatorReadKeys are the keys the operator requires in a credentials Secret (controllers/accountquota_credentials.go,
// tokenStore.load); operatorWrittenKeys are the ones it rewrites on every refresh (writeSecret). Both are
// the operator's own constants, so a renamed key changes what the recipes are checked against.
var (
	operatorReadKeys = []string{v1alpha1.SecretKeyClientKey, v1alpha1.SecretKeyClientSecret,
		v1alpha1.SecretKeyAccessToken, v1alpha1.SecretKeyRefreshToken}
	operatorWrittenKeys = []string{v1alpha1.SecretKeyAccessToken, v1alpha1.SecretKeyRefreshToken,
		v1alpha1.SecretKeyAccessTokenExpiresAt, v1alpha1.SecretKeyRefreshTokenExpiresAt}
)

// rotated is what the operator writes in this test's rotation.
var rotated = map[string]string{
	v1alpha1.SecretKeyAccessToken:           "act.rotated-by-the-operator",
	v1alpha1.SecretKeyRefreshToken:          "rft.rotated-by-the-operator",
	v1alpha1.SecretKeyAccessTokenExpiresAt:  "2031-01-01T00:00:00Z",
	v1alpha1.SecretKeyRefreshTokenExpiresAt: "2031-12-01T00:00:00Z",
}

// rotateAsTheOperator writes a refreshed pair into the Secret as the operator's writeSecret does.
func rotateAsTheOperator(ctx context.Context, t *testing.T, key client.ObjectKey) {
	t.Helper()
	sec := &corev1.Secret{}
	if err := k8sClient.Get(ctx, key, sec); err != nil {
		t.Fatal(err)
	}
	if sec.Labels[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
		t.Fatalf("the Secret %s lacks the label %s=%s: the operator would not write it", key,
			v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	for k, v := range rotated {
		sec.Data[k] = []byte(v)
	}
	if err := k8sClient.Update(ctx, sec, client.FieldOwner(operatorFieldManager)); err != nil {
		t.Fatalf("the operator's write of the rotated tokens: %v", err)
	}
}

// liveSecret reads the Secret from the API server.
func liveSecret(ctx context.Context, t *testing.T, key client.ObjectKey) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	if err := k8sClient.Get(ctx, key, sec); err != nil {
		t.Fatal(err)
	}
	return sec
}

// fieldsOwnedBy lists the data keys a field manager owns on the live Secret.
func fieldsOwnedBy(t *testing.T, sec *corev1.Secret, manager string) []string {
	t.Helper()
	var keys []string
	for _, mf := range sec.ManagedFields {
		if mf.Manager != manager || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
			t.Fatal(err)
		}
		for k := range fields["f:data"] {
			if k != "." {
				keys = append(keys, strings.TrimPrefix(k, "f:"))
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// readSample decodes the one object of a file under config/samples.
func readSample(t *testing.T, rel string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", rel))
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeObjects(t, raw)
	if len(objs) != 1 {
		t.Fatalf("config/samples/%s holds %d objects, want 1", rel, len(objs))
	}
	return objs[0]
}

// fluxApplyOptions are the apply options Flux's kustomize-controller passes to its server-side apply
// engine (github.com/fluxcd/pkg/ssa, the library it applies with): objects annotated
// kustomize.toolkit.fluxcd.io/ssa: Ignore (or reconcile: disabled) are skipped, IfNotPresent ones are
// created when missing and otherwise left alone.
func fluxApplyOptions() ssa.ApplyOptions {
	opts := ssa.DefaultApplyOptions()
	opts.ExclusionSelector = map[string]string{
		"kustomize.toolkit.fluxcd.io/reconcile": "disabled",
		"kustomize.toolkit.fluxcd.io/ssa":       "Ignore",
	}
	opts.IfNotPresentSelector = map[string]string{"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}
	opts.ForceSelector = map[string]string{"kustomize.toolkit.fluxcd.io/force": "enabled"}
	return opts
}

// TestFluxIfNotPresentKeepsRotatedTokens applies config/samples/credentials_secret.yaml with Flux's own
// apply engine (fluxcd/pkg/ssa, under kustomize-controller's field manager and options) to a real API
// server, lets the operator rotate the tokens, and has Flux reconcile again:
//   - without the sample's kustomize.toolkit.fluxcd.io/ssa: IfNotPresent annotation Flux finds drift and
//     force-applies Git's Secret: the rotated tokens are replaced by Git's (the failure mode: TikTok has
//     revoked that refresh token, the account ends CredentialsInvalid);
//   - with it, the existing Secret is skipped and the rotated tokens stay.
//
// Flux's controller itself (its source fetching, kustomize build, scheduling) does not run here: what
// runs is the library call that decides and performs the apply, with the options kustomize-controller
// sets.
func TestFluxIfNotPresentKeepsRotatedTokens(t *testing.T) {
	sample := readSample(t, "credentials_secret.yaml")
	if got := sample.GetAnnotations()["kustomize.toolkit.fluxcd.io/ssa"]; got != "IfNotPresent" {
		t.Errorf("config/samples/credentials_secret.yaml: annotation kustomize.toolkit.fluxcd.io/ssa is %q, "+
			"want IfNotPresent (docs/gitops.md, Flux)", got)
	}
	gitAccess, _, _ := unstructured.NestedString(sample.Object, "stringData", v1alpha1.SecretKeyAccessToken)
	if gitAccess == "" {
		t.Fatalf("the sample has no stringData.%s", v1alpha1.SecretKeyAccessToken)
	}
	const ns = "gitops-flux"
	createNamespace(t, ns)
	flux := ssa.NewResourceManager(k8sClient, nil, ssa.Owner{Field: "kustomize-controller", Group: "kustomize.toolkit.fluxcd.io"})

	cases := []struct {
		name           string
		withAnnotation bool
		wantAction     ssa.Action
		wantAccess     string
	}{
		{"without IfNotPresent the rotation is undone", false, ssa.ConfiguredAction, gitAccess},
		{"with IfNotPresent the rotation is kept", true, ssa.SkippedAction, rotated[v1alpha1.SecretKeyAccessToken]},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			desired := sample.DeepCopy()
			desired.SetNamespace(ns)
			desired.SetName(desired.GetName() + "-" + string(rune('a'+i)))
			if !tc.withAnnotation {
				desired.SetAnnotations(nil)
			}
			// kustomize-controller normalizes what it applies (a Secret's stringData becomes data).
			if err := normalize.UnstructuredList([]*unstructured.Unstructured{desired}); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(desired)
			entry, err := flux.Apply(ctx, desired.DeepCopy(), fluxApplyOptions())
			if err != nil {
				t.Fatalf("Flux's first apply: %v", err)
			}
			if entry.Action != ssa.CreatedAction {
				t.Fatalf("Flux's first apply: %s, want %s", entry.Action, ssa.CreatedAction)
			}

			rotateAsTheOperator(ctx, t, key)
			if got := fieldsOwnedBy(t, liveSecret(ctx, t, key), operatorFieldManager); !slices.Equal(got, sortedCopy(operatorWrittenKeys)) {
				t.Errorf("after the rotation the operator owns %v, want %v", got, sortedCopy(operatorWrittenKeys))
			}
			if !tc.withAnnotation {
				// Without forcing, the API server refuses Flux's field manager the keys the operator now
				// owns: Flux always forces, which is how the rotation gets undone.
				err := k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired.DeepCopy()),
					client.FieldOwner("kustomize-controller"))
				if !apierrors.IsConflict(err) {
					t.Errorf("a server-side apply of Git's Secret without force: %v, want a conflict with %q", err, operatorFieldManager)
				}
			}

			entry, err = flux.Apply(ctx, desired.DeepCopy(), fluxApplyOptions())
			if err != nil {
				t.Fatalf("Flux's next reconcile: %v", err)
			}
			if entry.Action != tc.wantAction {
				t.Errorf("Flux's next reconcile: %s, want %s", entry.Action, tc.wantAction)
			}
			live := liveSecret(ctx, t, key)
			if got := string(live.Data[v1alpha1.SecretKeyAccessToken]); got != tc.wantAccess {
				t.Errorf("%s after Flux's next reconcile: %q, want %q", v1alpha1.SecretKeyAccessToken, got, tc.wantAccess)
			}
			wantRefresh := rotated[v1alpha1.SecretKeyRefreshToken]
			if !tc.withAnnotation {
				wantRefresh, _, _ = unstructured.NestedString(sample.Object, "stringData", v1alpha1.SecretKeyRefreshToken)
			}
			if got := string(live.Data[v1alpha1.SecretKeyRefreshToken]); got != wantRefresh {
				t.Errorf("%s after Flux's next reconcile: %q, want %q", v1alpha1.SecretKeyRefreshToken, got, wantRefresh)
			}
			t.Logf("Flux: %s; %s=%q; data keys owned by the operator %v, by Flux %v", entry.Action,
				v1alpha1.SecretKeyAccessToken, live.Data[v1alpha1.SecretKeyAccessToken],
				fieldsOwnedBy(t, live, operatorFieldManager), fieldsOwnedBy(t, live, "kustomize-controller"))
		})
	}
}

// TestExternalSecretMergeKeepsRotatedTokens checks the External Secrets Operator recipe
// (config/samples/external-secrets): the ExternalSecret brings only the app's keys, merged
// (creationPolicy: Merge) into the Secret of the creator's tokens, and never a key the operator rewrites.
// ESO is not run here (no ESO in this control plane): its Merge write is reproduced as ESO makes it, a
// forced server-side apply of the ExternalSecret's keys and template labels under the field manager
// externalsecrets.external-secrets.io/<name>. On the real API server the test then checks that the
// merged Secret is one the operator accepts (its label, every key it reads, by the operator's constants),
// and that ESO's next refresh after the operator's rotation leaves the rotated tokens in place.
func TestExternalSecretMergeKeepsRotatedTokens(t *testing.T) {
	es := readSample(t, filepath.Join("external-secrets", "credentials_externalsecret.yaml"))
	tokens := readSample(t, filepath.Join("external-secrets", "credentials_tokens_secret.yaml"))
	aq := readSample(t, "publish_v1alpha1_accountquota.yaml")
	secretName, _, _ := unstructured.NestedString(aq.Object, "spec", "credentialsSecretRef", "name")

	if v := es.GetAPIVersion(); v != "external-secrets.io/v1" && v != "external-secrets.io/v1beta1" {
		t.Errorf("ExternalSecret apiVersion %q, want external-secrets.io/v1 or v1beta1", v)
	}
	spec, _, _ := unstructured.NestedMap(es.Object, "spec")
	// The fields this test models; another one (dataFrom, a template's data, ...) could bring keys or
	// rewrite them, and must be modelled here before the sample uses it.
	for k := range spec {
		if !slices.Contains([]string{"refreshPolicy", "refreshInterval", "secretStoreRef", "target", "data"}, k) {
			t.Errorf("ExternalSecret spec.%s: not modelled by this test (it could write keys the operator rotates)", k)
		}
	}
	target, _, _ := unstructured.NestedMap(es.Object, "spec", "target")
	for k := range target {
		if !slices.Contains([]string{"name", "creationPolicy", "template"}, k) {
			t.Errorf("ExternalSecret spec.target.%s: not modelled by this test", k)
		}
	}
	if tpl, _, _ := unstructured.NestedMap(es.Object, "spec", "target", "template"); len(tpl) != 1 || tpl["metadata"] == nil {
		t.Errorf("ExternalSecret spec.target.template: only metadata is modelled by this test, got %v", tpl)
	}
	if p, _, _ := unstructured.NestedString(es.Object, "spec", "target", "creationPolicy"); p != "Merge" {
		t.Errorf("ExternalSecret spec.target.creationPolicy %q, want Merge: ESO re-syncs a Secret it owns as soon as its data "+
			"no longer matches ESO's hash, whatever the refreshPolicy, and would put the store's revoked tokens back", p)
	}
	if n, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name"); n != secretName {
		t.Errorf("ExternalSecret spec.target.name %q, the AccountQuota sample names %q", n, secretName)
	}
	labels, _, _ := unstructured.NestedStringMap(es.Object, "spec", "target", "template", "metadata", "labels")
	if labels[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
		t.Errorf("ExternalSecret spec.target.template.metadata.labels lacks %s: %q", v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
	}
	entries, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
	var esoKeys []string
	esoData := map[string]any{}
	for i, e := range entries {
		m, _ := e.(map[string]any)
		k, _ := m["secretKey"].(string)
		if ref, _ := m["remoteRef"].(map[string]any); k == "" || ref["key"] == nil {
			t.Errorf("ExternalSecret spec.data[%d]: secretKey and remoteRef.key are required", i)
		}
		esoKeys = append(esoKeys, k)
		esoData[k] = "c3RvcmUtdmFsdWU=" // "store-value": what the store returned
	}
	sort.Strings(esoKeys)
	wantESOKeys := sortedCopy([]string{v1alpha1.SecretKeyClientKey, v1alpha1.SecretKeyClientSecret})
	if !slices.Equal(esoKeys, wantESOKeys) {
		t.Errorf("ExternalSecret spec.data keys %v, want exactly the app's %v", esoKeys, wantESOKeys)
	}
	for _, k := range esoKeys {
		if slices.Contains(operatorWrittenKeys, k) {
			t.Errorf("ExternalSecret spec.data writes %s, which the operator rotates: ESO would put the store's value back", k)
		}
	}

	if tokens.GetName() != secretName {
		t.Errorf("the tokens Secret sample is %q, the AccountQuota sample names %q", tokens.GetName(), secretName)
	}
	if tokens.GetLabels()[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
		t.Errorf("the tokens Secret sample lacks the label %s: %q", v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
	}

	// On the API server: the tokens Secret created by hand, ESO's merge, the operator's rotation, ESO's
	// next refresh.
	ctx := context.Background()
	const ns = "gitops-eso"
	createNamespace(t, ns)
	tokens.SetNamespace(ns)
	if err := k8sClient.Create(ctx, tokens, client.FieldOwner("kubectl-create")); err != nil {
		t.Fatalf("creating the tokens Secret: %v", err)
	}
	esoWrite := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": secretName, "namespace": ns, "labels": toAny(labels)},
		"data":     esoData,
	}}
	esoManager := "externalsecrets.external-secrets.io/" + es.GetName()
	esoApply := func() {
		t.Helper()
		if err := k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(esoWrite.DeepCopy()),
			client.FieldOwner(esoManager), client.ForceOwnership); err != nil {
			t.Fatalf("ESO's merge: %v", err)
		}
	}
	esoApply()
	key := client.ObjectKey{Namespace: ns, Name: secretName}

	// The merged Secret is one the operator accepts: its cache lists it by the label, every key it reads
	// is there.
	var listed corev1.SecretList
	if err := k8sClient.List(ctx, &listed, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.CredentialsLabel: v1alpha1.CredentialsLabelValue}); err != nil {
		t.Fatal(err)
	}
	if len(listed.Items) != 1 || listed.Items[0].Name != secretName {
		t.Fatalf("Secrets listed by the operator's label selector: %d, want %s", len(listed.Items), secretName)
	}
	for _, k := range operatorReadKeys {
		if len(listed.Items[0].Data[k]) == 0 {
			t.Errorf("the merged Secret lacks %s, which the operator requires", k)
		}
	}

	rotateAsTheOperator(ctx, t, key)
	esoApply() // ESO's next refresh: the data no longer matches its hash, so it writes its keys again
	live := liveSecret(ctx, t, key)
	for k, v := range rotated {
		if got := string(live.Data[k]); got != v {
			t.Errorf("%s after ESO's refresh: %q, want the operator's %q", k, got, v)
		}
	}
	if got := string(live.Data[v1alpha1.SecretKeyClientSecret]); got != "store-value" {
		t.Errorf("%s after ESO's refresh: %q, want the store's", v1alpha1.SecretKeyClientSecret, got)
	}
	t.Logf("ESO owns %v, the operator %v", fieldsOwnedBy(t, live, esoManager), fieldsOwnedBy(t, live, operatorFieldManager))
}

// TestArgoCDIgnoresExactlyTheRotatedKeys checks config/argocd/application.yaml: its ignoreDifferences on
// Secrets lists exactly the keys the operator writes (the operator's constants), as JSON pointers into
// data, and the sync respects them (RespectIgnoreDifferences=true), so a sync keeps the live, rotated
// values. Argo CD is not run here; what it does with these fields is its documented behaviour
// (docs/gitops.md).
func TestArgoCDIgnoresExactlyTheRotatedKeys(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "argocd", "application.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	app := onlyOne(t, decodeObjects(t, raw), "Application")
	if app.GetAPIVersion() != "argoproj.io/v1alpha1" {
		t.Errorf("apiVersion %q, want argoproj.io/v1alpha1", app.GetAPIVersion())
	}
	rules, _, _ := unstructured.NestedSlice(app.Object, "spec", "ignoreDifferences")
	var pointers []string
	secretRules := 0
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if m["kind"] != "Secret" || m["group"] != "" {
			continue
		}
		secretRules++
		if m["jqPathExpressions"] != nil || m["managedFieldsManagers"] != nil {
			t.Errorf("the Secret rule uses jqPathExpressions or managedFieldsManagers; this test checks jsonPointers")
		}
		ps, _ := m["jsonPointers"].([]any)
		for _, p := range ps {
			s, _ := p.(string)
			pointers = append(pointers, s)
		}
	}
	if secretRules != 1 {
		t.Fatalf("spec.ignoreDifferences has %d rules for group \"\" kind Secret, want 1", secretRules)
	}
	var want []string
	for _, k := range operatorWrittenKeys {
		// RFC 6901: ~ and / in a key are escaped.
		want = append(want, "/data/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
	}
	sort.Strings(want)
	sort.Strings(pointers)
	if !slices.Equal(pointers, want) {
		t.Errorf("ignoreDifferences jsonPointers %v, want exactly the keys the operator writes %v", pointers, want)
	}
	opts, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "syncPolicy", "syncOptions")
	if !slices.Contains(opts, "RespectIgnoreDifferences=true") {
		t.Errorf("spec.syncPolicy.syncOptions %v lacks RespectIgnoreDifferences=true: without it a sync writes Git's tokens back", opts)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
