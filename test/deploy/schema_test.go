package deploy

import (
	"strings"
	"testing"
)

// TestChartSchemaRefusesBadValues checks that values.schema.json refuses wrong values before anything is
// rendered: `helm template` must fail and name the offending value.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		// mention is what the error must name (the value's path in the schema's words).
		mention string
	}{
		{"replicas as a word", []string{"--set-string", "replicaCount=two"}, "/replicaCount"},
		{"negative replicas", []string{"--set", "replicaCount=-1"}, "/replicaCount"},
		{"unknown pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{"empty image repository", []string{"--set", "image.repository="}, "/image/repository"},
		{"unknown log level", []string{"--set", "logging.level=verbose"}, "/logging/level"},
		{"unknown log encoder", []string{"--set", "logging.encoder=xml"}, "/logging/encoder"},
		{"metrics port as a string", []string{"--set-string", "metrics.port=8443"}, "/metrics/port"},
		{"leader election as a string", []string{"--set-string", "leaderElection.enabled=yes"}, "/leaderElection/enabled"},
		{"namespace that is not a DNS label", []string{"--set", "watchNamespaces={Team_A}"}, "/watchNamespaces/0"},
		{"account selector as a list", []string{"--set", "accountSelector={a,b}"}, "/accountSelector"},
		{"extra arg that is not a flag", []string{"--set", "extraArgs={oops}"}, "/extraArgs/0"},
		{"misspelt top-level value", []string{"--set", "replicas=2"}, "replicas"},
		{"service monitor enabled as a string", []string{"--set-string", "metrics.serviceMonitor.enabled=true"},
			"/metrics/serviceMonitor/enabled"},
	}
	helm := helmBin(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runTool(t, nil, helm, append([]string{"template", "tiktok", chartDir}, tc.flags...)...)
			if err == nil {
				t.Fatalf("helm template accepted %v; it rendered %d bytes", tc.flags, len(out))
			}
			msg := err.Error()
			if !strings.Contains(msg, "schema") || !strings.Contains(msg, tc.mention) {
				t.Errorf("helm template refused %v, but not by the schema naming %q:\n%s", tc.flags, tc.mention, msg)
			}
		})
	}
}
