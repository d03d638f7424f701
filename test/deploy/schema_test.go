package deploy

import (
	"strings"
	"testing"
)

// TestChartSchemaRefusesBadValues checks that values.schema.json refuses wrong values before anything is
// rendered (and the templates' own guard, the combinations a schema cannot express): `helm template` must
// fail and name the offending value.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		// mention is what the error must name (the value's path in the schema's words).
		mention string
		// byTemplate: refused by a template's guard rather than by the schema.
		byTemplate bool
	}{
		{"replicas as a word", []string{"--set-string", "replicaCount=two"}, "/replicaCount", false},
		{"negative replicas", []string{"--set", "replicaCount=-1"}, "/replicaCount", false},
		{"unknown pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy", false},
		{"empty image repository", []string{"--set", "image.repository="}, "/image/repository", false},
		{"unknown log level", []string{"--set", "logging.level=verbose"}, "/logging/level", false},
		{"unknown log encoder", []string{"--set", "logging.encoder=xml"}, "/logging/encoder", false},
		{"metrics port as a string", []string{"--set-string", "metrics.port=8443"}, "/metrics/port", false},
		{"leader election as a string", []string{"--set-string", "leaderElection.enabled=yes"}, "/leaderElection/enabled", false},
		{"namespace that is not a DNS label", []string{"--set", "watchNamespaces={Team_A}"}, "/watchNamespaces/0", false},
		{"account selector as a list", []string{"--set", "accountSelector={a,b}"}, "/accountSelector", false},
		{"extra arg that is not a flag", []string{"--set", "extraArgs={oops}"}, "/extraArgs/0", false},
		{"allowed endpoint with a path", []string{"--set", "allowedEndpoints={https://open.tiktokapis.com/v2}"}, "/allowedEndpoints/0", false},
		{"allowed endpoint without a scheme", []string{"--set", "allowedEndpoints={open.tiktokapis.com}"}, "/allowedEndpoints/0", false},
		{"no allowed endpoint", []string{"--set", "allowedEndpoints=null"}, "allowedEndpoints", false},
		{"upload host with a scheme", []string{"--set", "allowedUploadHosts={https://open-upload.tiktokapis.com}"},
			"/allowedUploadHosts/0", false},
		{"misspelt top-level value", []string{"--set", "replicas=2"}, "replicas", false},
		{"service monitor enabled as a string", []string{"--set-string", "metrics.serviceMonitor.enabled=true"},
			"/metrics/serviceMonitor/enabled", false},
		{"image digest that is not sha256", []string{"--set", "image.digest=latest"}, "/image/digest", false},
		{"env var without a name", []string{"--set", "extraEnv[0].value=http://proxy:3128"}, "/extraEnv/0", false},
		{"env var with value and valueFrom", []string{"--set", "extraEnv[0].name=A", "--set", "extraEnv[0].value=x",
			"--set", "extraEnv[0].valueFrom.secretKeyRef.name=s"}, "/extraEnv/0", false},
		{"env as a map", []string{"--set", "extraEnv.HTTPS_PROXY=http://proxy:3128"}, "/extraEnv", false},
		{"volume without a name", []string{"--set", "volumes[0].emptyDir.medium=Memory"}, "/volumes/0", false},
		{"volume mount without a path", []string{"--set", "volumeMounts[0].name=ca"}, "/volumeMounts/0", false},
		{"spread constraint without a topology key", []string{"--set", "topologySpreadConstraints[0].maxSkew=1",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule"}, "/topologySpreadConstraints/0", false},
		{"spread constraint with an unknown policy", []string{"--set", "topologySpreadConstraints[0].maxSkew=1",
			"--set", "topologySpreadConstraints[0].topologyKey=zone", "--set", "topologySpreadConstraints[0].whenUnsatisfiable=Maybe"},
			"/topologySpreadConstraints/0", false},
		{"disruption budget enabled as a string", []string{"--set-string", "podDisruptionBudget.enabled=true"},
			"/podDisruptionBudget/enabled", false},
		{"disruption budget minAvailable as a word", []string{"--set-string", "podDisruptionBudget.minAvailable=half"},
			"/podDisruptionBudget/minAvailable", false},
		{"disruption budget with minAvailable and maxUnavailable", []string{"--set", "podDisruptionBudget.enabled=true",
			"--set", "podDisruptionBudget.minAvailable=1", "--set", "podDisruptionBudget.maxUnavailable=1"},
			"not both", true},
		{"honorLabels as a string", []string{"--set-string", "metrics.serviceMonitor.honorLabels=true"},
			"/metrics/serviceMonitor/honorLabels", false},
		{"service monitor CA with an empty key", []string{"--set", "metrics.serviceMonitor.tls.ca.secret.name=ca",
			"--set", "metrics.serviceMonitor.tls.ca.secret.key="}, "/metrics/serviceMonitor/tls/ca/secret/key", false},
		{"service monitor CA misspelt", []string{"--set", "metrics.serviceMonitor.tls.caFile=/etc/ca.crt"},
			"/metrics/serviceMonitor/tls", false},
		{"service monitor CA from a Secret and a ConfigMap", []string{"--set", "metrics.serviceMonitor.enabled=true",
			"--set", "metrics.serviceMonitor.tls.ca.secret.name=a", "--set", "metrics.serviceMonitor.tls.ca.configMap.name=b"},
			"not both", true},
		{"service monitor without a token", []string{"--set", "metrics.serviceMonitor.enabled=true",
			"--set", "metrics.serviceMonitor.authorization.createTokenSecret=false"}, "needs secretName", true},
		{"network policy enabled as a string", []string{"--set-string", "networkPolicy.enabled=true"},
			"/networkPolicy/enabled", false},
		{"API server CIDR that is an address", []string{"--set", "networkPolicy.apiServer.cidrs={10.96.0.1}"},
			"/networkPolicy/apiServer/cidrs/0", false},
		{"API server port as a word", []string{"--set", "networkPolicy.apiServer.ports={https}"},
			"/networkPolicy/apiServer/ports/0", false},
		{"extra egress that is not a rule", []string{"--set", "networkPolicy.extraEgress[0].cidr=10.0.0.0/8"},
			"/networkPolicy/extraEgress/0", false},
		{"two replicas without leader election", []string{"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"},
			"needs leaderElection.enabled=true", true},
	}
	helm := helmBin(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runTool(t, nil, helm, append([]string{"template", "tiktok", chartDir}, tc.flags...)...)
			if err == nil {
				t.Fatalf("helm template accepted %v; it rendered %d bytes", tc.flags, len(out))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.mention) || (!tc.byTemplate && !strings.Contains(msg, "schema")) {
				t.Errorf("helm template refused %v, but not with a message naming %q (schema: %v):\n%s",
					tc.flags, tc.mention, !tc.byTemplate, msg)
			}
		})
	}
}
