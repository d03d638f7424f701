package deploy

import (
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// policyPorts lists a NetworkPolicy rule list's ports as "protocol/port" (protocol TCP when left out).
func policyPorts(t *testing.T, np *unstructured.Unstructured, direction string) [][]string {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(np.Object, "spec", direction)
	out := make([][]string, 0, len(rules))
	for _, r := range rules {
		ports, _ := r.(map[string]any)["ports"].([]any)
		var ps []string
		for _, p := range ports {
			m, _ := p.(map[string]any)
			proto, _ := m["protocol"].(string)
			if proto == "" {
				proto = "TCP"
			}
			ps = append(ps, fmt.Sprintf("%s/%v", proto, m["port"]))
		}
		out = append(out, ps)
	}
	return out
}

// TestChartNetworkPolicy checks what the NetworkPolicy lets through: in, only the metrics and probe ports
// (by the names the manager container gives them); out, the API server, DNS over UDP and TCP, https to
// TikTok and the user's extra rules; and that it selects the manager's pods.
func TestChartNetworkPolicy(t *testing.T) {
	objs := renderChart(t, "tiktok", "ops", "--set", "networkPolicy.enabled=true",
		"--set", "networkPolicy.extraEgress[0].ports[0].port=3128")
	np := onlyOne(t, objs, "NetworkPolicy")
	dep := onlyOne(t, objs, "Deployment")

	podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	sel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
	if len(sel) == 0 {
		t.Fatalf("%s selects every pod of the namespace", objKey(np))
	}
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("%s selects %s=%s, which the pods do not carry", objKey(np), k, v)
		}
	}
	types, _, _ := unstructured.NestedStringSlice(np.Object, "spec", "policyTypes")
	if !slices.Equal(types, []string{"Ingress", "Egress"}) {
		t.Errorf("policyTypes = %v, want [Ingress Egress]", types)
	}

	ingress := policyPorts(t, np, "ingress")
	if len(ingress) != 1 || !slices.Equal(ingress[0], []string{"TCP/probes", "TCP/https"}) {
		t.Errorf("ingress ports = %v, want only TCP/probes and TCP/https", ingress)
	}
	var containerPorts []string
	for i := 0; lookup(dep.Object, "spec", "template", "spec", "containers", "0", "ports", fmt.Sprint(i)) != nil; i++ {
		containerPorts = append(containerPorts,
			fmt.Sprint(lookup(dep.Object, "spec", "template", "spec", "containers", "0", "ports", fmt.Sprint(i), "name")))
	}
	for _, name := range []string{"probes", "https"} {
		if !slices.Contains(containerPorts, name) {
			t.Errorf("the NetworkPolicy admits port %q, which the manager container does not name (%v)", name, containerPorts)
		}
	}

	egress := policyPorts(t, np, "egress")
	want := [][]string{{"TCP/443", "TCP/6443"}, {"UDP/53", "TCP/53"}, {"TCP/443"}, {"TCP/3128"}}
	if !slices.EqualFunc(egress, want, slices.Equal[[]string]) {
		t.Errorf("egress ports = %v, want %v (API server, DNS, TikTok, the extra rule)", egress, want)
	}
	// Nothing may leave or arrive but on these ports: no rule without ports.
	for _, dir := range []string{"ingress", "egress"} {
		for i, ps := range policyPorts(t, np, dir) {
			if len(ps) == 0 {
				t.Errorf("%s rule %d has no ports: it admits every port", dir, i)
			}
		}
	}

	if n := len(byKind(renderChart(t, "tiktok", "ops"), "NetworkPolicy")); n != 0 {
		t.Errorf("the defaults render %d NetworkPolicies, want none (networkPolicy.enabled is false)", n)
	}
}
