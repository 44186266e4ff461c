// Package docs holds the shop's guides; its test checks that what they
// point to exists.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// mdLink is a markdown link's target: [text](target).
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// repoPath is a file of the repository named in code: `internal/x/y.go`.
	repoPath = regexp.MustCompile("`((?:internal|cmd|db|docs|scripts|web|deploy)/[A-Za-z0-9_./-]+)`")
)

// TestLinksResolve: every relative link of the guides and the README, and
// every repository path they name in code, points to a file or directory
// that exists, so that a file moved or renamed cannot leave a guide's
// "Read the code" pointing nowhere.
func TestLinksResolve(t *testing.T) {
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "../README.md")
	if len(docs) < 10 {
		t.Fatalf("found only %v", docs)
	}
	checked := 0
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(doc)
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			checked++
			if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, m[1])
			}
		}
		for _, m := range repoPath.FindAllStringSubmatch(string(b), -1) {
			p := strings.TrimSuffix(m[1], "/")
			if strings.ContainsAny(p, "*<>") {
				continue
			}
			checked++
			if _, err := os.Stat(filepath.Join("..", p)); err != nil {
				t.Errorf("%s names %s, which does not exist", doc, m[1])
			}
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d links: the patterns no longer match the guides", checked)
	}
}
