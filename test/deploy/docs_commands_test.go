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
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	files := docFilesWithHelm(t)
	more, err := filepath.Glob(filepath.Join(repoRoot, "config", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, err := filepath.Rel(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	return files
}

// extractShellCommands returns the make and kubectl commands of a document's fenced blocks (continuation
// lines joined) and of its inline code spans that start with `make` or `kubectl`; other blocks' lines
// (YAML, Go, output) are not split.
func extractShellCommands(file, doc string) ([]docCommand, error) {
	var out []docCommand
	lines := strings.Split(doc, "\n")
	inFence := false
	for i := 0; i < len(lines); i++ {
		if fenceLine.MatchString(lines[i]) {
			inFence = !inFence
			continue
		}
		if !inFence {
			// Commands quoted in prose: `kubectl apply -k config/samples`, `make helm-docs`.
			for _, m := range inlineCode.FindAllStringSubmatch(lines[i], -1) {
				if !strings.HasPrefix(m[1], "make ") && !strings.HasPrefix(m[1], "kubectl ") {
					continue
				}
				if cmds, err := shellCommands(m[1]); err == nil {
					for _, w := range cmds {
						out = append(out, docCommand{file: file, line: i + 1, words: w})
					}
				}
			}
			continue
		}
		start, text := i, strings.TrimRight(lines[i], " ")
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		text = strings.TrimPrefix(strings.TrimSpace(text), "$ ")
		if !strings.HasPrefix(text, "make ") && !strings.Contains(text, "kubectl ") {
			continue
		}
		cmds, err := shellCommands(text)
		if err != nil {
			continue // an output line that mentions kubectl, not a command to copy
		}
		for _, w := range cmds {
			if w[0] == "make" || w[0] == "kubectl" {
				out = append(out, docCommand{file: file, line: start + 1, words: w})
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
