package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestCommandLine: every command answers -h and --help with its usage on
// stderr and exit status 0, and an unknown flag with the error, said once,
// and the usage, on stderr, and exit status 2. None of it reaches for the
// database or the cache: DATABASE_URL points nowhere, and the memory store
// is one `shop cache` refuses to act on.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable", "CACHE_STORE": "memory"}
	tests := []struct {
		args    []string
		usage   string // how the usage begins
		unknown string // the error of an unknown flag
	}{
		{nil, "Usage: shop <command>", `unknown command "--no-such-flag"`},
		{[]string{"serve"}, "Usage: shop serve [flags]", "flag provided but not defined: -no-such-flag"},
		{[]string{"migrate"}, "Usage: shop migrate up | down | status", "flag provided but not defined: -no-such-flag"},
		{[]string{"seed"}, "Usage: shop seed [flags]", "flag provided but not defined: -no-such-flag"},
		{[]string{"warm"}, "Usage: shop warm [flags]", "flag provided but not defined: -no-such-flag"},
		{[]string{"cache"}, "Usage: shop cache <command>", "flag provided but not defined: -no-such-flag"},
		{[]string{"cache", "keys"}, "Usage: shop cache keys [flags] PATTERN", "flag provided but not defined: -no-such-flag"},
	}
	shop := func(args ...string) (stdout, stderr string, code int) {
		var out, errOut strings.Builder
		err := run(context.Background(), args, env(vars), &out, &errOut)
		code = exitCode(err, &errOut)
		return out.String(), errOut.String(), code
	}
	for _, tt := range tests {
		name := "shop " + strings.Join(tt.args, " ")
		for _, help := range []string{"-h", "--help"} {
			t.Run(name+" "+help, func(t *testing.T) {
				out, errOut, code := shop(append(tt.args[:len(tt.args):len(tt.args)], help)...)
				if code != 0 || !strings.HasPrefix(errOut, tt.usage) || out != "" {
					t.Errorf("exit %d, want 0 and the usage on stderr; stdout %q, stderr:\n%s", code, out, errOut)
				}
			})
		}
		t.Run(name+" --no-such-flag", func(t *testing.T) {
			out, errOut, code := shop(append(tt.args[:len(tt.args):len(tt.args)], "--no-such-flag")...)
			if code != 2 || strings.Count(errOut, tt.unknown) != 1 || !strings.Contains(errOut, tt.usage) || out != "" {
				t.Errorf("exit %d, want 2 with %q once and the usage on stderr; stdout %q, stderr:\n%s", code, tt.unknown, out, errOut)
			}
		})
	}

	// The flags' help names the value a flag takes, and only that.
	_, errOut, _ := shop("serve", "-h")
	if !strings.Contains(errOut, "\n  -setup\n") || !strings.Contains(errOut, "\n  -addr string\n") {
		t.Errorf("serve -h names the flags' values wrongly:\n%s", errOut)
	}
	if out, _, code := shop("help"); code != 0 || !strings.HasPrefix(out, "Usage: shop <command>") {
		t.Errorf("shop help: exit %d, stdout %q", code, out)
	}
	// A command that fails says why once, with exit status 1.
	if _, errOut, code := shop("cache", "stats"); code != 1 || strings.Count(errOut, "CACHE_STORE=memory") != 1 {
		t.Errorf("shop cache stats on the memory store: exit %d, stderr:\n%s", code, errOut)
	}
}

// The serving binary serves: the benchmark's load generator, histograms
// and plots are in shopbench, and none of it is linked into shop.
func TestServingBinaryLinksNoBenchmark(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "example.com/shop/cmd/shop").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, no := range []string{"example.com/shop/internal/bench", "gonum.org/", "github.com/tsenart/vegeta", "github.com/HdrHistogram/"} {
			if strings.HasPrefix(pkg, no) {
				t.Errorf("shop links %s", pkg)
			}
		}
	}
}
