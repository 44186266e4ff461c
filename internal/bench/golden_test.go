package bench

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMarkdownGolden: the report's page, all of it, is what
// testdata/report.md holds. A change of wording or layout shows as a diff
// of that file: rewrite it with
//
//	go test ./internal/bench -run TestMarkdownGolden -update
//
// and read the diff before committing it.
func TestMarkdownGolden(t *testing.T) {
	r := sampleReport()
	for i := range r.Comparisons {
		ratios(&r.Comparisons[i])
	}
	evaluate(r)
	got := Markdown(r, []string{"2026-11-25-scale1-latency.svg", "2026-11-25-scale1-sql.svg", "2026-11-25-scale1-hits.svg"})
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("the report differs from %s at line %d:\ngot:  %q\nwant: %q\n(if the change is meant, rewrite it with -update and read the diff)", golden, i+1, gl, wl)
		}
	}
}
