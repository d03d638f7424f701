package deploy

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// managerDefaults reads the duration flags' defaults from the manager's own --help (see managerHelp).
func managerDefaults(t *testing.T, flags ...string) map[string]time.Duration {
	t.Helper()
	help := managerHelp(t)
	defaults := map[string]time.Duration{}
	for _, flag := range flags {
		v := flagDefault(t, help, flag)
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("manager --help: --%s default %q: %v", flag, v, err)
		}
		defaults[flag] = d
	}
	return defaults
}

// graceShortfall checks that the Deployment's terminationGracePeriodSeconds is longer than
// --graceful-shutdown-timeout plus one --tiktok-timeout (each as the args set it, or the manager's
// default): a call started just before SIGTERM may take its whole deadline while shutdown waits for it, and
// a kubelet's SIGKILL in the middle of an init call leaves its outcome uncertain.
// It returns an error describing the shortfall, nil when the grace period is long enough.
func graceShortfall(t *testing.T, dep *unstructured.Unstructured, defaults map[string]time.Duration) error {
	t.Helper()
	durations := map[string]time.Duration{}
	for _, flag := range []string{"graceful-shutdown-timeout", "tiktok-timeout"} {
		durations[flag] = defaults[flag]
		for _, a := range managerArgs(t, dep) {
			if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%s: %s: %v", objKey(dep), a, err)
				}
				durations[flag] = d
			}
		}
	}
	grace := int64(30) // the API server's default
	if v := lookup(dep.Object, "spec", "template", "spec", "terminationGracePeriodSeconds"); v != nil {
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			t.Fatalf("%s: terminationGracePeriodSeconds %v: %v", objKey(dep), v, err)
		}
		grace = n
	}
	need := durations["graceful-shutdown-timeout"] + durations["tiktok-timeout"]
	if time.Duration(grace)*time.Second <= need {
		return fmt.Errorf("%s: terminationGracePeriodSeconds=%d, want more than --graceful-shutdown-timeout=%s + --tiktok-timeout=%s",
			objKey(dep), grace, durations["graceful-shutdown-timeout"], durations["tiktok-timeout"])
	}
	return nil
}

// TestGracePeriodOutlastsShutdown checks the relation for config/ (kustomize) and the chart's values.
func TestGracePeriodOutlastsShutdown(t *testing.T) {
	defaults := managerDefaults(t, "graceful-shutdown-timeout", "tiktok-timeout")
	t.Run("config/default", func(t *testing.T) {
		objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "default")))
		if err := graceShortfall(t, onlyOne(t, objs, "Deployment"), defaults); err != nil {
			t.Error(err)
		}
	})
	for name, flags := range map[string][]string{
		"chart defaults":               nil,
		"chart, shorter call deadline": {"--set", "extraArgs={--tiktok-timeout=20s}"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := decodeObjects(t, mustRun(t, nil, helmBin(t),
				append([]string{"template", "tiktok", chartDir, "--namespace", "ops"}, flags...)...))
			if err := graceShortfall(t, onlyOne(t, objs, "Deployment"), defaults); err != nil {
				t.Error(err)
			}
		})
	}
	// The check itself must catch the chart's old value (40 for 30s + 30s) and a longer call deadline.
	for name, flags := range map[string][]string{
		"chart, the old 40s":          {"--set", "terminationGracePeriodSeconds=40"},
		"chart, longer call deadline": {"--set", "extraArgs={--tiktok-timeout=2m}"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := decodeObjects(t, mustRun(t, nil, helmBin(t),
				append([]string{"template", "tiktok", chartDir, "--namespace", "ops"}, flags...)...))
			if err := graceShortfall(t, onlyOne(t, objs, "Deployment"), defaults); err == nil {
				t.Errorf("the check passed %v, whose grace period is too short", flags)
			}
		})
	}
}
