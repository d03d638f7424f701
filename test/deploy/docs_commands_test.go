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

package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// docCommand is one shell command of a fenced block in the docs, split into words.
type docCommand struct {
	file  string
	line  int
	words []string
}

// docFilesWithCommands lists the Markdown files a user copies commands from: those with helm commands
// and the READMEs of config/.
func docFilesWithCommands(t *testing.T) []string {
	t.Helper()
	return append(docFilesWithHelm(t), repoFiles(t, "config", "*", "README.md")...)
}

// extractShellCommands returns the make and kubectl commands of a document's fenced blocks (continuation
// lines joined) and of its inline code spans that start with `make` or `kubectl`; other blocks' lines
// (YAML, Go, output) are not split.
func extractShellCommands(file, doc string) ([]docCommand, error) {
	var out []docCommand
	for _, sn := range docSnippets(doc) {
		text := sn.text
		if sn.inline {
			// Commands quoted in prose: `kubectl apply -k config/samples`, `make helm-docs`.
			if !strings.HasPrefix(text, "make ") && !strings.HasPrefix(text, "kubectl ") {
				continue
			}
		} else {
			text = strings.TrimPrefix(strings.TrimSpace(text), "$ ")
			if !strings.HasPrefix(text, "make ") && !strings.Contains(text, "kubectl ") {
				continue
			}
		}
		cmds, err := shellCommands(text)
		if err != nil {
			continue // an output line that mentions kubectl, not a command to copy
		}
		for _, w := range cmds {
			if sn.inline || w[0] == "make" || w[0] == "kubectl" {
				out = append(out, docCommand{file: file, line: sn.line, words: w})
			}
		}
	}
	return out, nil
}

var makeTarget = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):`)

// TestDocumentedCommandsWork checks the make and kubectl commands a user copies from the README and the
// docs: every `make` target exists in the Makefile, every path given to kubectl (`-k`, `-f`,
// `--patch-file`, `kubectl kustomize`) exists in the repository, and every kustomize directory builds with
// the machine's `kubectl kustomize`.
func TestDocumentedCommandsWork(t *testing.T) {
	kubectl := kubectlBin(t)
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	var makes, kustomizations, paths int
	built := map[string]error{}
	for _, f := range docFilesWithCommands(t) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := extractShellCommands(f, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			where := f + ":" + strconv.Itoa(c.line)
			if c.words[0] == "make" {
				for _, w := range c.words[1:] {
					if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
						continue
					}
					makes++
					if !targets[w] {
						t.Errorf("%s: `make %s`: the Makefile has no target %q", where, strings.Join(c.words[1:], " "), w)
					}
				}
				continue
			}
			for i, w := range c.words {
				var path string
				isKustomization := false
				switch {
				case (w == "-k" || w == "--kustomize") && i+1 < len(c.words):
					path, isKustomization = c.words[i+1], true
				case w == "kustomize" && i == 1 && i+1 < len(c.words):
					path, isKustomization = c.words[i+1], true
				case (w == "-f" || w == "--filename" || w == "--patch-file") && i+1 < len(c.words):
					path = c.words[i+1]
				default:
					continue
				}
				if path == "-" || strings.Contains(path, "://") || !strings.Contains(path, "/") {
					continue // stdin, a URL, or a file of the user's (hello.yaml)
				}
				paths++
				if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
					t.Errorf("%s: `%s` names %s, which is not in the repository", where, strings.Join(c.words, " "), path)
					continue
				}
				if !isKustomization {
					continue
				}
				kustomizations++
				if _, done := built[path]; !done {
					_, built[path] = runTool(t, nil, kubectl, "kustomize", path)
				}
				if built[path] != nil {
					t.Errorf("%s: `kubectl kustomize %s` fails: %v", where, path, built[path])
				}
			}
		}
	}
	if makes == 0 || kustomizations == 0 {
		t.Errorf("found %d make targets and %d kustomize directories in the docs; the extraction is broken", makes, kustomizations)
	}
	dirs := make([]string, 0, len(built))
	for d := range built {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	t.Logf("checked %d make targets, %d repository paths; kustomize directories built: %v", makes, paths, dirs)
}

// readmeInstallCommands returns the commands of the code block of README.md's install section (up to the
// next "## " heading; the section has one).
func readmeInstallCommands(t *testing.T) []docCommand {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n## Install on a cluster\n")
	if start < 0 {
		t.Fatal("README.md has no \"## Install on a cluster\" section")
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	first := strings.Count(doc[:start+1], "\n") // README lines before the section
	var out []docCommand
	for _, sn := range docSnippets(section) {
		if sn.inline {
			continue // the commands to run are the section's code block; prose quotes options
		}
		cmds, err := shellCommands(sn.text)
		if err != nil {
			t.Fatalf("README.md:%d: %q: %v", first+sn.line, sn.text, err)
		}
		for _, w := range cmds {
			out = append(out, docCommand{file: "README.md", line: first + sn.line, words: w})
		}
	}
	if len(out) == 0 {
		t.Fatal("README.md's install section has no code block")
	}
	return out
}

// TestReadmeInstallCommandsRun runs README.md's install commands, as written, against the test control
// plane: what `helm install` creates (CRDs, RBAC, the Secret write policy, the Deployment with the image
// the README names) is created for real from the command's own flags, and `kubectl apply --server-side -k
// ...` runs as it is.
// What cannot run here is said per command: building and pushing the image needs a container engine and a
// registry, `make deploy` is TestMakeDeployUndeploy's (the two installs would share cluster-scoped names),
// and envtest has no kubelet, so the Deployment never becomes Available: the README's `kubectl wait` must
// find it and time out (and the test checks the Deployment has the README's image). A command this test
// does not know fails it.
func TestReadmeInstallCommandsRun(t *testing.T) {
	helm, kubectl := helmBin(t), kubectlBin(t)
	cmds := readmeInstallCommands(t)
	if len(cmds) == 0 {
		t.Fatal("README.md's install section has no commands")
	}
	ran := 0
	for _, c := range cmds {
		where := fmt.Sprintf("%s:%d", c.file, c.line)
		w := c.words
		switch {
		case w[0] == "make" && len(w) > 1 && w[1] == "docker-build", w[0] == "docker":
			t.Logf("%s: %q not run: no container engine or registry here", where, strings.Join(w, " "))
		case w[0] == "make" && len(w) > 1 && w[1] == "deploy":
			t.Logf("%s: %q is TestMakeDeployUndeploy's", where, strings.Join(w, " "))
		case w[0] == "helm" && len(w) > 2 && w[1] == "install":
			// helm install itself refuses this control plane: the kube-apiserver hack/build-control-plane.sh
			// builds reports version v0.0.0-master, below the chart's kubeVersion. So the command's own
			// flags are rendered by helm template (with the CRDs helm installs first) and every object is
			// applied for real, as helm install would create it.
			args, _ := helmTemplateArgs(w)
			ns := "default"
			for i, a := range w {
				if (a == "-n" || a == "--namespace") && i+1 < len(w) {
					ns = w[i+1]
				}
			}
			out, err := runTool(t, nil, helm, append(args, "--include-crds")...)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if slices.Contains(w, "--create-namespace") {
				createNamespace(t, ns)
			}
			prereqs, rest := splitPrerequisites(decodeObjects(t, out))
			applyForReal(t, prereqs)
			applyForReal(t, rest)
			ran++
			t.Cleanup(func() { deleteObjects(t, rest) })
			checkReadmeRelease(t, where, w, ns)
		case w[0] == "kubectl" && slices.Contains(w, "apply"):
			if _, err := runTool(t, nil, kubectl, w[1:]...); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			ran++
			if i := slices.Index(w, "-k"); i > 0 && i+1 < len(w) {
				dir := w[i+1]
				t.Cleanup(func() { mustRun(t, nil, kubectl, "delete", "--ignore-not-found", "-k", dir) })
			}
		case w[0] == "kubectl" && slices.Contains(w, "wait"):
			// envtest has no kubelet: no pod runs and the Deployment never becomes Available. Run with a
			// short timeout, the command must find the Deployment and time out on its condition (a bad
			// flag, resource or namespace fails differently).
			args := slices.Clone(w[1:])
			for i, a := range args {
				if strings.HasPrefix(a, "--timeout=") {
					args[i] = "--timeout=2s"
				}
			}
			_, err := runTool(t, nil, kubectl, args...)
			if err == nil || !strings.Contains(err.Error(), "timed out waiting for the condition on deployments/") {
				t.Errorf("%s: %q: want a time-out on the installed Deployment (no kubelet here), got %v", where, strings.Join(w, " "), err)
			}
			ran++
		default:
			t.Errorf("%s: %q: a command this test does not know; run it here or say why it cannot run", where, strings.Join(w, " "))
		}
	}
	if ran < 3 {
		t.Errorf("ran %d of README.md's install commands, want the helm install, the kubectl apply and the wait", ran)
	}
}

// checkReadmeRelease checks what the README's helm install left on the API server: the manager's
// Deployment in the release namespace with the image from the command's --set values.
func checkReadmeRelease(t *testing.T, where string, w []string, ns string) {
	t.Helper()
	values := map[string]string{}
	for i, a := range w {
		if a == "--set" && i+1 < len(w) {
			k, v, _ := strings.Cut(w[i+1], "=")
			values[k] = v
		}
	}
	var deps appsv1.DeploymentList
	if err := k8sClient.List(context.Background(), &deps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 1 {
		t.Fatalf("%s: %d Deployments in %s after the README's helm install, want 1", where, len(deps.Items), ns)
	}
	want := values["image.repository"] + ":" + values["image.tag"]
	if got := deps.Items[0].Spec.Template.Spec.Containers[0].Image; got != want {
		t.Errorf("%s: the manager's image is %q, want %q", where, got, want)
	}
}
