package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsidePaths are references to files outside the repository: the documents the project was first
// written against, or the folders of the machine it was written on. Users have none of them. (Built by
// concatenation so that this file does not match itself.)
var outsidePaths = []string{
	"../" + "shared",
	"/" + "work/",
	"shared" + "/design.md",
	"tiktok" + "-api.md", // the TikTok API notes, wherever they were linked from
}

// markdownLink matches the target of a Markdown link or image: ](target) or ](target "title").
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)`)

// TestRepositoryStandsAlone fails if a tracked file refers to a path outside the repository: one of
// outsidePaths anywhere, or a relative Markdown link that leaves the repository's top folder.
func TestRepositoryStandsAlone(t *testing.T) {
	out := mustRun(t, nil, "git", "-C", repoRoot, "ls-files", "-z")
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 10 {
		t.Fatalf("git ls-files lists %d files", len(files))
	}
	for _, f := range files {
		path := filepath.Join(repoRoot, filepath.FromSlash(f))
		info, err := os.Lstat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, p := range outsidePaths {
				if strings.Contains(line, p) {
					t.Errorf("%s:%d refers to %q, outside the repository: %s", f, i+1, p, strings.TrimSpace(line))
				}
			}
			if !strings.HasSuffix(f, ".md") {
				continue
			}
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				if filepath.IsAbs(target) {
					t.Errorf("%s:%d links the absolute path %q", f, i+1, target)
					continue
				}
				rel, err := filepath.Rel(repoRoot, filepath.Join(filepath.Dir(path), filepath.FromSlash(target)))
				if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("%s:%d links %q, outside the repository", f, i+1, m[1])
				}
			}
		}
	}
}
