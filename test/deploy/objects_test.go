package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// decodeObjects splits a multi-document YAML stream (kustomize's or helm's output) into objects, skipping
// empty documents.
func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding rendered manifests: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	if len(objs) == 0 {
		t.Fatal("the rendered manifests hold no object")
	}
	return objs
}

// encodeObjects writes objects back as one multi-document YAML stream, for kubectl's stdin.
func encodeObjects(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatalf("encoding %s: %v", objKey(o), err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes()
}

// objKey names an object the way the tests report it: Kind namespace/name.
func objKey(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
}

// objKeys lists the objects' keys, sorted.
func objKeys(objs []*unstructured.Unstructured) []string {
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, objKey(o))
	}
	sort.Strings(keys)
	return keys
}

// byKind returns the objects of one kind.
func byKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// onlyOne returns the single object of a kind, failing the test if there are none or several.
func onlyOne(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := byKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in the rendered manifests, got %d (objects: %v)", kind, len(found), objKeys(objs))
	}
	return found[0]
}

// splitPrerequisites separates what a server-side dry-run of the rest needs to exist for real (the CRDs,
// which give the custom kinds their schema, and the Namespaces the namespaced objects live in) from the rest.
func splitPrerequisites(objs []*unstructured.Unstructured) (prereqs, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition", "Namespace":
			prereqs = append(prereqs, o)
		default:
			rest = append(rest, o)
		}
	}
	return prereqs, rest
}

// lookup walks an object by path, map keys and list indexes alike ("containers", "0", "image"); it returns
// nil when the path does not exist.
func lookup(v any, path ...string) any {
	for _, p := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}
