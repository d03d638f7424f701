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
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// chartPath is the chart every documented helm command installs, as the docs name it (from the
// repository's top folder).
const chartPath = "charts/tiktok-operator"

// docHelmCall is one helm invocation (or one `--set` example) a user can copy from the docs.
type docHelmCall struct {
	file string
	line int
	// text is the command as written (continuation lines joined), for the failure message.
	text string
	// args are helm's arguments as the shell would pass them, turned into a `helm template` call.
	args []string
}

// helmValueFlags are the flags that change the chart's values; a documented `--set` outside a full helm
// command is rendered with only these.
var helmValueFlags = []string{"--set", "--set-string", "--set-json", "--set-file", "-f", "--values"}

// docFilesWithHelm lists the Markdown files users read for install commands: the README, docs/*.md and
// the chart's README.
func docFilesWithHelm(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", filepath.Join(chartPath, "README.md")}
	return append(files, repoFiles(t, "docs", "*.md")...)
}

// repoFiles lists the repository's files that match the pattern (path elements joined), relative to
// its root.
func repoFiles(t *testing.T, pattern ...string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(append([]string{repoRoot}, pattern...)...))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(matches))
	for _, f := range matches {
		rel, err := filepath.Rel(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rel)
	}
	return out
}

// TestDocumentedHelmValuesRender renders every `helm install`, `helm upgrade`, `helm template` and
// `make helm-template HELM_ARGS=...` command shown in the docs, and every inline `--set ...` example, with
// the pinned helm: `helm template` applies values.schema.json, so a value the chart does not have (e.g.
// `replicas`), a wrong type or a bad flag fails here with the file and line it was copied from.
func TestDocumentedHelmValuesRender(t *testing.T) {
	helm := helmBin(t)
	perFile := map[string]int{}
	var calls []docHelmCall
	for _, f := range docFilesWithHelm(t) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		found, err := extractHelmCalls(f, string(raw))
		if err != nil {
			t.Error(err)
		}
		perFile[f] = len(found)
		calls = append(calls, found...)
	}
	// The extraction itself must find what is there: these files show helm commands to copy.
	for _, f := range []string{"README.md", filepath.Join(chartPath, "README.md"),
		filepath.Join("docs", "getting-started.md"), filepath.Join("docs", "scaling.md")} {
		if perFile[f] == 0 {
			t.Errorf("%s: no helm command with values found; the extraction is broken or the install commands are gone", f)
		}
	}
	for _, c := range calls {
		if _, err := runTool(t, nil, helm, c.args...); err != nil {
			t.Errorf("%s:%d: %q does not render with the chart (helm %s):\n%v",
				c.file, c.line, c.text, strings.Join(c.args, " "), err)
		}
	}
	t.Logf("rendered %d documented helm commands and --set examples: %v", len(calls), perFile)
}

// TestDocumentedHelmValuesRenderCanFail checks that what the test above runs refuses what the docs once
// showed: a value the chart does not have is an error, not a silently ignored key.
func TestDocumentedHelmValuesRenderCanFail(t *testing.T) {
	helm := helmBin(t)
	doc := "```sh\nhelm install tiktok-operator charts/tiktok-operator -n x --set replicas=2 --set logLevel=debug\n```\n"
	calls, err := extractHelmCalls("bad.md", doc)
	if err != nil || len(calls) != 1 {
		t.Fatalf("extracting from %q: %d calls, %v", doc, len(calls), err)
	}
	_, err = runTool(t, nil, helm, calls[0].args...)
	if err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("helm %s: want a schema error naming replicas, got %v", strings.Join(calls[0].args, " "), err)
	}
}

// TestExtractHelmCalls checks the extraction on the shapes the docs use (no helm is run).
func TestExtractHelmCalls(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want [][]string
		line []int
	}{
		{
			name: "install with continuation and quotes",
			doc: "text\n```sh\nhelm install r charts/tiktok-operator -n ns --create-namespace \\\n" +
				"  --set a.b=c --set l='{x,y}'   # a comment --set no=1\n```\n",
			want: [][]string{{"template", "r", "charts/tiktok-operator", "-n", "ns", "--create-namespace",
				"--set", "a.b=c", "--set", "l={x,y}"}},
			line: []int{3},
		},
		{
			name: "upgrade --install and a pinned helm binary after another command",
			doc:  "```\nmake helm && bin/helm-v3.22.0 upgrade --install r charts/tiktok-operator --set-string x=\"a b\" >out.yaml\n```\n",
			want: [][]string{{"template", "r", "charts/tiktok-operator", "--set-string", "x=a b"}},
			line: []int{2},
		},
		{
			name: "make helm-template",
			doc:  "```sh\nmake helm-template HELM_ARGS='--set replicaCount=2 -f charts/tiktok-operator/values.yaml'\n```\n",
			want: [][]string{{"template", "tiktok-operator", chartPath, "--set", "replicaCount=2", "-f",
				"charts/tiktok-operator/values.yaml"}},
			line: []int{2},
		},
		{
			name: "inline --set in prose, helm lint and an install without values are ignored",
			doc: "e.g. `--set allowedEndpoints='{https://a,http://b:1}'` and `helm lint x`\n" +
				"```sh\nhelm install r charts/tiktok-operator\nhelm lint --set a=b charts/tiktok-operator\n```\n",
			want: [][]string{
				{"template", "tiktok-operator", chartPath, "--set", "allowedEndpoints={https://a,http://b:1}"},
				{"template", "r", "charts/tiktok-operator"},
			},
			line: []int{1, 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls, err := extractHelmCalls("x.md", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			var lines []int
			for _, c := range calls {
				got = append(got, c.args)
				lines = append(lines, c.line)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || !slices.Equal(lines, tc.line) {
				t.Errorf("got %q at lines %v\nwant %q at lines %v", got, lines, tc.want, tc.line)
			}
		})
	}
}

var (
	fenceLine  = regexp.MustCompile("^\\s*```")
	inlineCode = regexp.MustCompile("`([^`]+)`")
)

// extractHelmCalls finds the helm commands of a Markdown document: in fenced blocks, every `helm
// install|upgrade|template` (any helm binary) and `make helm-template HELM_ARGS=...`; in prose, every
// inline code span holding a value flag (`--set a=b`), rendered against the chart with a release name.
// Each becomes the arguments of a `helm template` run as the user's shell would split them.
func extractHelmCalls(file, doc string) ([]docHelmCall, error) {
	var calls []docHelmCall
	for _, sn := range docSnippets(doc) {
		if sn.inline {
			if !strings.Contains(sn.text, "--set") && !strings.Contains(sn.text, "--values") && !strings.HasPrefix(sn.text, "-f ") {
				continue
			}
			words, err := shellCommands(sn.text)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %q: %w", file, sn.line, sn.text, err)
			}
			for _, w := range words {
				if len(w) > 1 && slices.Contains(helmValueFlags, flagName(w[0])) {
					args := append([]string{"template", "tiktok-operator", chartPath}, w...)
					calls = append(calls, docHelmCall{file: file, line: sn.line, text: sn.text, args: args})
				}
			}
			continue
		}
		if !strings.Contains(sn.text, "helm") {
			continue // not every block is shell (Go, YAML, a file tree): only lines naming helm are split
		}
		// A console block's prompt is not part of the command.
		cmds, err := shellCommands(strings.TrimPrefix(strings.TrimSpace(sn.text), "$ "))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q: %w", file, sn.line, sn.text, err)
		}
		for _, w := range cmds {
			if args, ok := helmTemplateArgs(w); ok {
				calls = append(calls, docHelmCall{file: file, line: sn.line, text: strings.TrimSpace(sn.text), args: args})
			}
		}
	}
	return calls, nil
}

// docSnippet is a piece of a Markdown document a user may copy: an inline code span of its prose, or a
// line of a fenced block with its continuation lines (ending in a backslash) joined; line is where it
// starts.
type docSnippet struct {
	line   int
	text   string
	inline bool
}

// docSnippets walks a document once for the extractors of helm calls and of make/kubectl commands.
func docSnippets(doc string) []docSnippet {
	var out []docSnippet
	lines := strings.Split(doc, "\n")
	inFence := false
	for i := 0; i < len(lines); i++ {
		if fenceLine.MatchString(lines[i]) {
			inFence = !inFence
			continue
		}
		if !inFence {
			for _, m := range inlineCode.FindAllStringSubmatch(lines[i], -1) {
				out = append(out, docSnippet{line: i + 1, text: m[1], inline: true})
			}
			continue
		}
		start, text := i, strings.TrimRight(lines[i], " ")
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, docSnippet{line: start + 1, text: text})
	}
	return out
}

// flagName is a flag without its `=value`.
func flagName(w string) string {
	name, _, _ := strings.Cut(w, "=")
	return name
}

// helmTemplateArgs turns one command's words into `helm template` arguments: `helm install` and `helm
// upgrade --install` take the same flags and positionals as `helm template`, so the user's own command is
// what is rendered; `make helm-template HELM_ARGS=...` renders the chart as the Makefile does.
func helmTemplateArgs(w []string) ([]string, bool) {
	if len(w) >= 2 && (w[0] == "make" || strings.HasSuffix(w[0], "/make")) && w[1] == "helm-template" {
		for _, a := range w[2:] {
			if v, ok := strings.CutPrefix(a, "HELM_ARGS="); ok {
				return append([]string{"template", "tiktok-operator", chartPath}, strings.Fields(v)...), true
			}
		}
		return []string{"template", "tiktok-operator", chartPath}, true
	}
	bin := filepath.Base(w[0])
	if len(w) < 2 || (bin != "helm" && !strings.HasPrefix(bin, "helm-v")) {
		return nil, false
	}
	switch w[1] {
	case "install", "upgrade", "template":
	default:
		return nil, false
	}
	args := []string{"template"}
	for _, a := range w[2:] {
		if a == "--install" || a == "-i" {
			continue
		}
		args = append(args, a)
	}
	return args, true
}

// shellCommands splits a line as a POSIX shell would into commands (at unquoted ;, &&, || and |) and
// words (quotes removed, backslash escapes resolved), dropping a trailing # comment. Expansions ($VAR,
// $(...)) are kept as written: the docs show commands to copy, with example values.
func shellCommands(line string) ([][]string, error) {
	var (
		cmds  [][]string
		words []string
		word  strings.Builder
		inWrd bool
	)
	endWord := func() {
		if inWrd {
			words = append(words, word.String())
			word.Reset()
			inWrd = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	r := []rune(line)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(r) && r[j] != '\'' {
				j++
			}
			if j == len(r) {
				return nil, fmt.Errorf("unterminated single quote")
			}
			word.WriteString(string(r[i+1 : j]))
			inWrd, i = true, j
		case c == '"':
			j := i + 1
			for ; j < len(r) && r[j] != '"'; j++ {
				if r[j] == '\\' && j+1 < len(r) && strings.ContainsRune(`"\$`+"`", r[j+1]) {
					j++
				}
				word.WriteRune(r[j])
			}
			if j == len(r) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWrd, i = true, j
		case c == '\\' && i+1 < len(r):
			i++
			word.WriteRune(r[i])
			inWrd = true
		case c == '#' && !inWrd:
			endCmd()
			return cmds, nil
		case c == ' ' || c == '\t':
			endWord()
		case c == '<':
			return nil, fmt.Errorf("an unquoted < is a shell redirection (a placeholder like <tag> breaks the command)")
		case c == '>':
			// An output redirection: its target is no argument of the command.
			endWord()
			for i+1 < len(r) && (r[i+1] == '>' || r[i+1] == ' ') {
				i++
			}
			for i+1 < len(r) && r[i+1] != ' ' && r[i+1] != ';' && r[i+1] != '|' && r[i+1] != '&' {
				i++
			}
		case c == ';' || c == '|' || c == '&':
			endCmd()
			if i+1 < len(r) && r[i+1] == c {
				i++
			}
		default:
			word.WriteRune(c)
			inWrd = true
		}
	}
	endCmd()
	return cmds, nil
}
