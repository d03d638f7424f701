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
	"regexp"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestHelpIsComplete: status, retry and post each have a short and a long description, examples that
// run `kubectl tiktok <command>`, and a description of every flag of their own.
func TestHelpIsComplete(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	if !strings.Contains(root.Long, "kubectl") {
		t.Errorf("the root command has no long description")
	}
	for _, name := range []string{"status", "retry", "post"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("no command %s: %v", name, err)
		}
		if cmd.Short == "" || strings.Contains(cmd.Short, "not yet built") || len(cmd.Long) < 200 {
			t.Errorf("%s: short %q, long of %d characters", name, cmd.Short, len(cmd.Long))
		}
		if n := strings.Count(cmd.Example, "kubectl tiktok "+name); n < 2 {
			t.Errorf("%s: %d examples, want at least 2", name, n)
		}
		// One line per flag: "  -o, --output string   Output format: ...".
		for _, line := range strings.Split(strings.TrimRight(cmd.LocalFlags().FlagUsages(), "\n"), "\n") {
			parts := regexp.MustCompile(` {2,}`).Split(strings.TrimSpace(line), 2)
			if len(parts) != 2 || len(parts[1]) < 10 {
				t.Errorf("%s: flag without a description: %q", name, line)
			}
		}
	}
}
