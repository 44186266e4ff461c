package cache_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImports: the core is the caching a domain uses and nothing
// more: the stores and their clients (go-redis, memcached, the circuit
// breaker), the HTTP layer (Echo), the fragments (html/template) and the
// metrics (Prometheus) live beside it, in packages that import it.
func TestCoreImports(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "example.com/shop/internal/cache").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, no := range []string{
			"github.com/redis/", "github.com/bradfitz/gomemcache", "github.com/sony/gobreaker",
			"github.com/labstack/", "html/template", "github.com/prometheus/", "example.com/shop/internal/cache/",
		} {
			if strings.HasPrefix(pkg, no) {
				t.Errorf("the core imports %s", pkg)
			}
		}
	}
}
