package v1alpha1

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/test/fixture/crdschema"
)

// The bounds the controllers cut TikTok's values to are exactly what the generated CRDs admit: the
// markers carry numbers, the code carries constants, and this test reads config/crd/bases to keep them
// in step (a CRD admitting less than the code writes makes status writes fail; one admitting more is a
// bound nobody enforces).
func TestStatusBoundsMatchTheCRD(t *testing.T) {
	posts := schemaOf(t, "publish.tiktok-operator.dev_tiktokposts.yaml")
	accounts := schemaOf(t, "publish.tiktok-operator.dev_accountquotas.yaml")
	tests := []struct {
		schema map[string]any
		path   string // dot-separated properties; [] steps into a list's items
		key    string // maxLength or maxItems
		want   int
	}{
		{posts, "status.lastError.code", "maxLength", MaxErrorCodeLength},
		{posts, "status.lastError.message", "maxLength", MaxErrorMessageLength},
		{posts, "status.lastError.logID", "maxLength", MaxLogIDLength},
		{posts, "status.attemptHistory[].code", "maxLength", MaxErrorCodeLength},
		{posts, "status.publishID", "maxLength", MaxPublishIDLength},
		{posts, "status.processingStatus", "maxLength", MaxProcessingStatusLength},
		{posts, "status.postIDs", "maxItems", MaxPostIDs},
		{posts, "status.postIDs[]", "maxLength", MaxPostIDLength},
		{accounts, "status.creator.username", "maxLength", MaxCreatorNameLength},
		{accounts, "status.creator.nickname", "maxLength", MaxCreatorNameLength},
		{accounts, "status.creator.avatarURL", "maxLength", MaxAvatarURLLength},
		{accounts, "status.creator.privacyLevelOptions", "maxItems", MaxPrivacyLevelOptions},
		{accounts, "status.creator.privacyLevelOptions[]", "maxLength", MaxPrivacyLevelOptionLength},
	}
	for _, tt := range tests {
		node := tt.schema
		for _, step := range strings.Split(tt.path, ".") {
			name, items := strings.CutSuffix(step, "[]")
			node = child(t, node, "properties", name)
			if items {
				node = child(t, node, "items")
			}
		}
		got, ok := node[tt.key].(float64)
		if !ok {
			t.Errorf("%s: the CRD sets no %s (want %d)", tt.path, tt.key, tt.want)
			continue
		}
		if int(got) != tt.want {
			t.Errorf("%s: the CRD's %s is %v, the Go constant %d", tt.path, tt.key, got, tt.want)
		}
	}
}

// schemaOf reads the openAPIV3Schema of the CRD's only version.
func schemaOf(t *testing.T, file string) map[string]any {
	t.Helper()
	s, err := crdschema.Read(filepath.Join("..", "..", "config", "crd", "bases", file))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func child(t *testing.T, node map[string]any, keys ...string) map[string]any {
	t.Helper()
	for _, k := range keys {
		next, ok := node[k].(map[string]any)
		if !ok {
			t.Fatalf("the CRD schema has no %q under %v", k, keysOf(node))
		}
		node = next
	}
	return node
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
