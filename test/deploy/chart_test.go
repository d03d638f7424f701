package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// chartDir is the chart, relative to the repository's top folder (where the tools run).
var chartDir = filepath.Join("charts", "tiktok-operator")

// renderChart runs `helm template` on the chart with the given extra flags (--set ...), CRDs included.
func renderChart(t *testing.T, release, namespace string, flags ...string) []*unstructured.Unstructured {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace, "--include-crds"}, flags...)
	return decodeObjects(t, mustRun(t, nil, helmBin(t), args...))
}

// TestChartLint runs `helm lint --strict` (which also checks the values against values.schema.json) with
// the default values and with every optional part switched on.
func TestChartLint(t *testing.T) {
	helm := helmBin(t)
	for name, flags := range map[string][]string{
		"defaults": nil,
		"everything on": {"--set", "metrics.serviceMonitor.enabled=true", "--set", "watchNamespaces={a,b}",
			"--set", "secretWritePolicy.enabled=true",
			"--set", "accountSelector=shard=1", "--set", "extraLabels.team=growth",
			"--set", "networkPolicy.enabled=true",
			"--set", "podDisruptionBudget.enabled=true", "--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://p:3128"},
	} {
		t.Run(name, func(t *testing.T) {
			mustRun(t, nil, helm, append([]string{"lint", "--strict", chartDir}, flags...)...)
		})
	}
}

// TestChartDryRun renders the chart with several sets of values and sends each result to the API server:
// the CRDs and the namespaces for real, every other object with a server-side dry-run that must accept it.
func TestChartDryRun(t *testing.T) {
	cases := []struct {
		name      string
		namespace string
		flags     []string
		// watched are the namespaces the release watches: they must exist for its RoleBindings.
		watched []string
		// kinds is how many objects of each kind the chart must render (CRDs included).
		kinds map[string]int
		// needsMonitorCRD: the values render a ServiceMonitor.
		needsMonitorCRD bool
	}{{
		name:      "defaults",
		namespace: "tiktok-operator",
		kinds: map[string]int{"CustomResourceDefinition": 2, "ServiceAccount": 1, "Deployment": 1, "Service": 1,
			"ClusterRole": 5, "ClusterRoleBinding": 2, "Role": 1, "RoleBinding": 1, "ServiceMonitor": 0,
			"ValidatingAdmissionPolicy": 1, "ValidatingAdmissionPolicyBinding": 1, "PodDisruptionBudget": 0,
			"NetworkPolicy": 0},
	}, {
		name:      "network policy, narrowed API server, DNS peers, proxy egress",
		namespace: "tiktok-netpol",
		flags: []string{"--set", "networkPolicy.enabled=true", "--set", "networkPolicy.apiServer.cidrs={10.96.0.1/32,fd00::1/128}",
			"--set", "networkPolicy.dnsTo[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kube-system",
			"--set", "networkPolicy.extraEgress[0].to[0].ipBlock.cidr=10.0.0.5/32",
			"--set", "networkPolicy.extraEgress[0].ports[0].port=3128",
			"--set", "networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=monitoring"},
		kinds: map[string]int{"Deployment": 1, "NetworkPolicy": 1},
	}, {
		name:      "network policy without metrics",
		namespace: "tiktok-netpol-nometrics",
		flags:     []string{"--set", "networkPolicy.enabled=true", "--set", "metrics.enabled=false"},
		kinds:     map[string]int{"Deployment": 1, "NetworkPolicy": 1},
	}, {
		name:      "proxy env, volumes, spread, digest, disruption budget",
		namespace: "tiktok-pdb",
		flags: []string{"--set", "replicaCount=2", "--set", "podDisruptionBudget.enabled=true",
			"--set", "podDisruptionBudget.minAvailable=50%",
			"--set", "image.digest=sha256:" + strings.Repeat("ab", 32),
			"--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://proxy.example.com:3128",
			"--set", "extraEnv[1].name=NO_PROXY", "--set", "extraEnv[1].value=10.0.0.0/8\\,.svc",
			"--set", "volumes[0].name=proxy-ca", "--set", "volumes[0].configMap.name=proxy-ca",
			"--set", "volumeMounts[0].name=proxy-ca", "--set", "volumeMounts[0].mountPath=/etc/ssl/proxy",
			"--set", "volumeMounts[0].readOnly=true",
			"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
			"--set", "topologySpreadConstraints[0].labelSelector.matchLabels.control-plane=controller-manager"},
		kinds: map[string]int{"Deployment": 1, "PodDisruptionBudget": 1},
	}, {
		name:      "sharded, some namespaces, ServiceMonitor, extra labels",
		namespace: "tiktok-shard-a",
		flags: []string{"--set", "watchNamespaces={team-a,team-b}", "--set", "accountSelector=shard in (a)",
			"--set", "extraLabels.team=growth", "--set", "replicaCount=2", "--set", "metrics.serviceMonitor.enabled=true",
			"--set", "imagePullSecrets[0].name=regcred", "--set", "nodeSelector.kubernetes\\.io/os=linux",
			"--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists",
			"--set", "podAnnotations.example\\.com/owner=growth", "--set", "logging.level=debug"},
		watched: []string{"team-a", "team-b"},
		// The manager's rights are a Role in each watched namespace, nothing cluster-wide.
		// The ServiceMonitor brings its scraper's ServiceAccount, token Secret and metrics-reader binding.
		kinds: map[string]int{"CustomResourceDefinition": 2, "ServiceAccount": 2, "Secret": 1, "Deployment": 1, "Service": 1,
			"ClusterRole": 4, "ClusterRoleBinding": 2, "Role": 3, "RoleBinding": 3, "ServiceMonitor": 1,
			"ValidatingAdmissionPolicy": 1, "ValidatingAdmissionPolicyBinding": 1},
		needsMonitorCRD: true,
	}, {
		name:      "no leader election, no metrics, no user roles, no Secret write policy",
		namespace: "tiktok-minimal",
		flags: []string{"--set", "leaderElection.enabled=false", "--set", "metrics.enabled=false",
			"--set", "rbac.aggregateToDefaultRoles=false", "--set", "metrics.serviceMonitor.enabled=true",
			"--set", "secretWritePolicy.enabled=false"},
		kinds: map[string]int{"CustomResourceDefinition": 2, "ServiceAccount": 1, "Deployment": 1, "Service": 0,
			"ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 0, "RoleBinding": 0, "ServiceMonitor": 0,
			"ValidatingAdmissionPolicy": 0, "ValidatingAdmissionPolicyBinding": 0},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := renderChart(t, "tiktok", tc.namespace, tc.flags...)
			for kind, n := range tc.kinds {
				if got := len(byKind(objs, kind)); got != n {
					t.Errorf("the chart renders %d %s, want %d (objects: %v)", got, kind, n, objKeys(objs))
				}
			}
			if tc.needsMonitorCRD {
				applyForReal(t, serviceMonitorCRD(t))
				assertMonitorSelectsService(t, onlyOne(t, objs, "ServiceMonitor"), onlyOne(t, objs, "Service"))
			}
			createNamespace(t, tc.namespace)
			for _, ns := range tc.watched {
				createNamespace(t, ns)
			}
			prereqs, rest := splitPrerequisites(objs)
			applyForReal(t, prereqs)
			answered := dryRunAll(t, rest)
			// The server defaulted the Deployment: proof it went through the apps/v1 registry, not an echo.
			dep := answered[objKey(onlyOne(t, rest, "Deployment"))]
			if strategy, _, _ := unstructured.NestedString(dep.Object, "spec", "strategy", "type"); strategy == "" {
				t.Errorf("the dry-run Deployment has no defaulted spec.strategy.type")
			}
			// A disruption budget must select the manager's pods, or it guards nothing.
			podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
			for _, pdb := range byKind(rest, "PodDisruptionBudget") {
				sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
				if len(sel) == 0 {
					t.Errorf("%s has no selector.matchLabels", objKey(pdb))
				}
				for k, v := range sel {
					if podLabels[k] != v {
						t.Errorf("%s selects %s=%s, which the pods do not carry (%v)", objKey(pdb), k, v, podLabels)
					}
				}
			}
		})
	}
}

// TestChartExtraLabelsOnEveryObject checks that extraLabels reach every object the chart templates
// (the CRDs in crds/ are not templated by Helm, by design) and the pods.
func TestChartExtraLabelsOnEveryObject(t *testing.T) {
	objs := decodeObjects(t, mustRun(t, nil, helmBin(t), "template", "tiktok", chartDir, "--namespace", "ops",
		"--set", "extraLabels.team=growth", "--set", "extraLabels.example\\.com/cost-center=c42",
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "watchNamespaces={a,b}"))
	want := map[string]string{"team": "growth", "example.com/cost-center": "c42", "app.kubernetes.io/part-of": "tiktok-operator"}
	for _, o := range objs {
		for k, v := range want {
			if o.GetLabels()[k] != v {
				t.Errorf("%s: label %s=%q, want %q", objKey(o), k, o.GetLabels()[k], v)
			}
		}
	}
	podLabels, _, _ := unstructured.NestedStringMap(onlyOne(t, objs, "Deployment").Object,
		"spec", "template", "metadata", "labels")
	for k, v := range want {
		if podLabels[k] != v {
			t.Errorf("pod template: label %s=%q, want %q", k, podLabels[k], v)
		}
	}
}

// TestChartValuesReachManager checks that each value becomes the manager flag or pod field it stands for.
func TestChartValuesReachManager(t *testing.T) {
	cases := []struct {
		name    string
		flags   []string
		args    []string // must be among the manager's args
		notArgs []string // must not be (prefix match)
		check   func(t *testing.T, dep *unstructured.Unstructured)
	}{{
		name: "defaults",
		args: []string{"--leader-elect", "--leader-election-id=tiktok-tiktok-operator", "--metrics-bind-address=:8443",
			"--zap-log-level=info", "--health-probe-bind-address=:8081",
			"--allowed-endpoints=https://open.tiktokapis.com", "--allowed-upload-hosts=*.tiktokapis.com",
			"--cap-retry-interval=1h", "--identity-file=/var/run/tiktok-operator/identity"},
		notArgs: []string{"--namespaces", "--account-selector"},
		check: func(t *testing.T, dep *unstructured.Unstructured) {
			wantString(t, dep, "ghcr.io/tiktok-operator/tiktok-operator:0.1.0", "spec", "template", "spec", "containers", "0", "image")
			wantString(t, dep, "IfNotPresent", "spec", "template", "spec", "containers", "0", "imagePullPolicy")
			// The identity file's directory outlives the container, not the pod: an emptyDir.
			wantString(t, dep, "identity", "spec", "template", "spec", "volumes", "0", "name")
			wantString(t, dep, "1Mi", "spec", "template", "spec", "volumes", "0", "emptyDir", "sizeLimit")
			wantString(t, dep, "identity", "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "name")
			wantString(t, dep, "/var/run/tiktok-operator", "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "mountPath")
		},
	}, {
		name:    "identity not kept across restarts",
		flags:   []string{"--set", "keepIdentityAcrossRestarts=false"},
		notArgs: []string{"--identity-file"},
		check: func(t *testing.T, dep *unstructured.Unstructured) {
			if v := lookup(dep.Object, "spec", "template", "spec", "volumes"); v != nil {
				t.Errorf("volumes %v, want none", v)
			}
		},
	}, {
		name: "namespaces, selector, log level",
		flags: []string{"--set", "watchNamespaces={team-a,team-b}", "--set", "accountSelector=shard in (a\\,b)",
			"--set", "logging.level=debug", "--set", "logging.encoder=console"},
		args: []string{"--namespaces=team-a,team-b", "--account-selector=shard in (a,b)", "--zap-log-level=debug",
			"--zap-encoder=console"},
	}, {
		name: "allowed endpoints and upload hosts",
		flags: []string{"--set", "allowedEndpoints={https://open.tiktokapis.com,http://127.0.0.1:8080}",
			"--set", "allowedUploadHosts={*.tiktokapis.com,upload.example.com}"},
		args: []string{"--allowed-endpoints=https://open.tiktokapis.com,http://127.0.0.1:8080",
			"--allowed-upload-hosts=*.tiktokapis.com,upload.example.com"},
	}, {
		name:    "leader election and metrics off",
		flags:   []string{"--set", "leaderElection.enabled=false", "--set", "metrics.enabled=false"},
		args:    []string{"--metrics-bind-address=0"},
		notArgs: []string{"--leader-elect", "--metrics-bind-address=:"},
	}, {
		name:  "cap retry interval",
		flags: []string{"--set", "capRetryInterval=90m"},
		args:  []string{"--cap-retry-interval=90m"},
	}, {
		name:  "leader election id",
		flags: []string{"--set", "leaderElection.id=shard-a.example.com"},
		args:  []string{"--leader-elect", "--leader-election-id=shard-a.example.com"},
	}, {
		name: "image, pull secrets, scheduling, annotations, replicas",
		flags: []string{"--set", "image.repository=registry.example.com/tt", "--set", "image.tag=v9",
			"--set", "image.pullPolicy=Always", "--set", "imagePullSecrets[0].name=regcred", "--set", "replicaCount=3",
			"--set", "nodeSelector.pool=ops", "--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists",
			"--set", "podAnnotations.owner=growth", "--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution" +
				".nodeSelectorTerms[0].matchExpressions[0].key=zone", "--set", "affinity.nodeAffinity." +
				"requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"},
		check: func(t *testing.T, dep *unstructured.Unstructured) {
			wantString(t, dep, "registry.example.com/tt:v9", "spec", "template", "spec", "containers", "0", "image")
			wantString(t, dep, "Always", "spec", "template", "spec", "containers", "0", "imagePullPolicy")
			wantString(t, dep, "regcred", "spec", "template", "spec", "imagePullSecrets", "0", "name")
			wantString(t, dep, "ops", "spec", "template", "spec", "nodeSelector", "pool")
			wantString(t, dep, "dedicated", "spec", "template", "spec", "tolerations", "0", "key")
			wantString(t, dep, "growth", "spec", "template", "metadata", "annotations", "owner")
			wantString(t, dep, "zone", "spec", "template", "spec", "affinity", "nodeAffinity",
				"requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", "0", "matchExpressions", "0", "key")
			if n := fmt.Sprint(lookup(dep.Object, "spec", "replicas")); n != "3" {
				t.Errorf("replicas = %s, want 3", n)
			}
		},
	}, {
		name: "digest over tag, proxy env, volumes, spread",
		flags: []string{"--set", "image.tag=v9", "--set", "image.digest=sha256:" + strings.Repeat("0f", 32),
			"--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://proxy.example.com:3128",
			"--set", "extraEnv[1].name=NO_PROXY", "--set", "extraEnv[1].valueFrom.configMapKeyRef.name=proxy",
			"--set", "extraEnv[1].valueFrom.configMapKeyRef.key=no_proxy",
			"--set", "volumes[0].name=proxy-ca", "--set", "volumes[0].secret.secretName=proxy-ca",
			"--set", "volumeMounts[0].name=proxy-ca", "--set", "volumeMounts[0].mountPath=/etc/ssl/proxy",
			"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=zone",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule"},
		check: func(t *testing.T, dep *unstructured.Unstructured) {
			wantString(t, dep, "ghcr.io/tiktok-operator/tiktok-operator@sha256:"+strings.Repeat("0f", 32),
				"spec", "template", "spec", "containers", "0", "image")
			wantString(t, dep, "HTTPS_PROXY", "spec", "template", "spec", "containers", "0", "env", "0", "name")
			wantString(t, dep, "http://proxy.example.com:3128", "spec", "template", "spec", "containers", "0", "env", "0", "value")
			wantString(t, dep, "no_proxy", "spec", "template", "spec", "containers", "0", "env", "1", "valueFrom",
				"configMapKeyRef", "key")
			wantString(t, dep, "proxy-ca", "spec", "template", "spec", "volumes", "0", "secret", "secretName")
			wantString(t, dep, "/etc/ssl/proxy", "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "mountPath")
			wantString(t, dep, "zone", "spec", "template", "spec", "topologySpreadConstraints", "0", "topologyKey")
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := decodeObjects(t, mustRun(t, nil, helmBin(t),
				append([]string{"template", "tiktok", chartDir, "--namespace", "ops"}, tc.flags...)...))
			dep := onlyOne(t, objs, "Deployment")
			args := managerArgs(t, dep)
			for _, a := range tc.args {
				if !slices.Contains(args, a) {
					t.Errorf("the manager's args lack %q: %q", a, args)
				}
			}
			for _, prefix := range tc.notArgs {
				for _, a := range args {
					if strings.HasPrefix(a, prefix) {
						t.Errorf("the manager's args hold %q, want none starting with %q", a, prefix)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, dep)
			}
		})
	}
}

// managerArgs returns the manager container's args.
func managerArgs(t *testing.T, dep *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		m, _ := c.(map[string]any)
		if m["name"] != "manager" {
			continue
		}
		raw, _ := m["args"].([]any)
		args := make([]string, 0, len(raw))
		for _, a := range raw {
			s, _ := a.(string)
			args = append(args, s)
		}
		return args
	}
	t.Fatalf("%s has no container named manager", objKey(dep))
	return nil
}

// wantString checks one string field of an object, the path's numeric parts indexing lists.
func wantString(t *testing.T, o *unstructured.Unstructured, want string, path ...string) {
	t.Helper()
	if got := lookup(o.Object, path...); got != want {
		t.Errorf("%s: %s = %v, want %q", objKey(o), strings.Join(path, "."), got, want)
	}
}
