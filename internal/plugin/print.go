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

package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// Output formats of -o. Empty is the human text of each command.
const (
	outputYAML = "yaml"
	outputJSON = "json"
)

// addOutputFlag adds kubectl's -o/--output for the structured formats the command supports.
func addOutputFlag(cmd *cobra.Command, into *string) {
	cmd.Flags().StringVarP(into, "output", "o", "", "Output format: yaml or json (empty: human-readable text)")
}

// checkOutput refuses an -o value other than yaml and json before anything is read or written.
func checkOutput(format string) error {
	switch format {
	case "", outputYAML, outputJSON:
		return nil
	}
	return fmt.Errorf("--output %q: must be yaml or json (or left out for text)", format)
}

// printStructured writes v as YAML or JSON. Objects of the operator get their apiVersion and kind first
// (a typed client leaves them empty), so that the output can be applied as it is.
func printStructured(out io.Writer, format string, v any) error {
	if o, ok := v.(runtime.Object); ok {
		setTypeMeta(o)
	}
	var (
		b   []byte
		err error
	)
	switch format {
	case outputJSON:
		b, err = json.MarshalIndent(v, "", "  ")
		b = append(b, '\n')
	case outputYAML:
		b, err = yaml.Marshal(v)
	default:
		return checkOutput(format)
	}
	if err != nil {
		return fmt.Errorf("encoding the output as %s: %w", format, err)
	}
	_, err = out.Write(b)
	return err
}

// setTypeMeta fills apiVersion and kind of the operator's objects.
func setTypeMeta(o runtime.Object) {
	gv := publishv1alpha1.GroupVersion
	switch x := o.(type) {
	case *publishv1alpha1.TikTokPost:
		x.APIVersion, x.Kind = gv.String(), "TikTokPost"
	case *publishv1alpha1.AccountQuota:
		x.APIVersion, x.Kind = gv.String(), "AccountQuota"
	}
}

// relative says when t is from now, for people: "in 3m12s", "12s ago" ("0s ago" for now). Sub-second parts are
// dropped (status times have a second's precision) and long spans keep two units ("2d3h", "5h12m").
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + shortDuration(d)
	default:
		return shortDuration(-d) + " ago"
	}
}

// shortDuration is d in at most two units: 45s, 3m12s, 5h12m, 2d3h.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	day := 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return trimZero(fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second)))
	case d < day:
		return trimZero(fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute)))
	default:
		return trimZero(fmt.Sprintf("%dd%dh", int(d/day), int(d%day/time.Hour)))
	}
}

// trimZero drops a zero second unit: 3m0s is 3m, 5h0m is 5h.
func trimZero(s string) string {
	for _, suffix := range []string{"m0s", "h0m", "d0h"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			return s[:len(s)-len(suffix)+1]
		}
	}
	return s
}
