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

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tiktok-operator/tiktok-operator/internal/plugin"
)

// printPluginStatus ends the demo the way a user would look at the accounts afterwards: it runs the
// kubectl plugin's own code, `kubectl tiktok status -A`, against the demo's kubeconfig, so what it
// prints is exactly what the plugin shows (read from the objects' status).
func printPluginStatus(ctx context.Context, out io.Writer, kubeconfig string) error {
	_, _ = fmt.Fprintf(out, "\n$ KUBECONFIG=%s kubectl tiktok status -A\n", kubeconfig)
	root := plugin.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out})
	root.SetArgs([]string{"status", "-A", "--kubeconfig", kubeconfig})
	if err := root.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("kubectl tiktok status -A: %w", err)
	}
	return nil
}
