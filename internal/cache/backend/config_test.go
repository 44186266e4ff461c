package backend_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	c, err := backend.ConfigFromEnv(env(nil))
	if err != nil || c.Store != "memory" || c.Aliases["default"].TTL != 5*time.Minute || c.Aliases["long_term"].TTL != 7*24*time.Hour {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = backend.ConfigFromEnv(env(map[string]string{"REDIS_URL": "redis://:s3cret@h:6379/0", "CACHE_DEFAULT_TTL": "30s", "CACHE_LAYERS": "page,query"}))
	if err != nil || c.Store != "redis" || c.Aliases["default"].TTL != 30*time.Second || c.SessionsRedisURL != c.RedisURL {
		t.Fatalf("with REDIS_URL: %+v, %v", c, err)
	}
	for _, l := range []cache.Layer{cache.LayerHTTP, cache.LayerFragment, cache.LayerAggregate} {
		if !slices.Contains(c.Disabled, l) {
			t.Errorf("CACHE_LAYERS=page,query left %s on", l)
		}
	}
	if slices.Contains(c.Disabled, cache.LayerSession) || slices.Contains(c.Disabled, cache.LayerPage) {
		t.Errorf("disabled %v", c.Disabled)
	}
	var b strings.Builder
	b.WriteString(c.LogValue().String())
	if strings.Contains(b.String(), "s3cret") {
		t.Errorf("the logged configuration shows the Redis password: %s", b.String())
	}
	for v, want := range map[string]time.Duration{"": backend.LeaseTTL, "off": 0, "500ms": 500 * time.Millisecond} {
		if c, err := backend.ConfigFromEnv(env(map[string]string{"CACHE_LEASE": v})); err != nil || c.Lease != want {
			t.Errorf("CACHE_LEASE=%q: lease %s, want %s (%v)", v, c.Lease, want, err)
		}
	}
	for _, bad := range []map[string]string{
		{"CACHE_STORE": "floppy"}, {"CACHE_STORE": "redis"}, {"CACHE_STORE": "memcached"},
		{"CACHE_LAYERS": "page,warp"}, {"CACHE_TIMEOUT": "soon"}, {"CACHE_MEMORY_MB": "-1"}, {"CACHE_CODEC": "xml"}, {"CACHE_LEASE": "0"}, {"CACHE_LEASE": "10s"},
	} {
		if _, err := backend.ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestOpenEveryStore opens the shop's caches on each store and checks that
// the aliases work and that sessions never depend on CACHE_STORE.
func TestOpenEveryStore(t *testing.T) {
	t.Parallel()
	mc := cachetest.StartMemcached(t, 2)
	for _, store := range []string{"memory", "redis", "tiered", "memcached", "none"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			// The sampler would load a hit once more, beside the test.
			vars := map[string]string{"CACHE_STORE": store, "CACHE_PREFIX": cachetest.Prefix(t), "CACHE_CONSISTENCY_SAMPLE": "0"}
			for k, v := range cachetest.Relaxed() {
				vars[k] = v
			}
			if store == "redis" || store == "tiered" {
				vars["REDIS_URL"] = cachetest.SharedRedisURL()
			}
			if store == "memcached" {
				vars["MEMCACHED_SERVERS"] = strings.Join(cachetest.Addrs(mc), ",")
			}
			cfg, err := backend.ConfigFromEnv(env(vars))
			if err != nil {
				t.Fatal(err)
			}
			c, err := backend.Open(cfg.ForDatabase("test-database:"+cfg.Prefix), backend.With{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			var loads atomic.Int64
			for range 2 {
				cache.Remember(ctx, c.Default, "k", cache.Opts{Tags: []string{"t"}}, func(context.Context) (int, error) { loads.Add(1); return 7, nil })
			}
			if want := map[bool]int64{true: 2, false: 1}[store == "none"]; loads.Load() != want {
				t.Errorf("%d loads for two reads, want %d", loads.Load(), want)
			}
			if err := cache.Set(ctx, c.Sessions, "s", "user 5", cache.Opts{Layer: cache.LayerSession}); err != nil {
				t.Fatal(err)
			}
			if v, ok := cache.Get[string](ctx, c.Sessions, "s", cache.Opts{Layer: cache.LayerSession}); !ok || v != "user 5" {
				t.Errorf("sessions on CACHE_STORE=%s: %q, %v", store, v, ok)
			}
			// The shared stores keep their generations under a lease.
			if store == "redis" || store == "tiered" {
				deadline := time.Now().Add(30 * time.Second)
				for !c.Tags.Leased() && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if got, want := c.Tags.Leased(), store == "redis" || store == "tiered"; got != want {
				t.Errorf("CACHE_STORE=%s: generations leased %v, want %v", store, got, want)
			}
		})
	}
}

// TestForDatabase: every prefix of the configuration, the aliases' own
// included, is under the database's namespace, and a shared store is not
// opened without one.
func TestForDatabase(t *testing.T) {
	cfg, err := backend.ConfigFromEnv(env(map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "CACHE_LONG_TERM_PREFIX": "archive"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Open(cfg, backend.With{}); err == nil {
		t.Error("Open took a Redis configuration without a database identity")
	}
	one, two := cfg.ForDatabase("db-one"), cfg.ForDatabase("db-two")
	ns := backend.Namespace("db-one")
	tests := []struct{ name, got, want string }{
		{"prefix", one.Prefix, "shop:" + ns},
		{"default alias", one.Aliases[backend.AliasDefault].Prefix, "shop:" + ns + ":default"},
		{"sessions alias", one.Aliases[backend.AliasSessions].Prefix, "shop:" + ns + ":sessions"},
		{"an alias prefix of its own", one.Aliases[backend.AliasLongTerm].Prefix, "archive:" + ns},
		{"once only", one.ForDatabase("db-one").Prefix, one.Prefix},
		{"the original is left alone", cfg.Aliases[backend.AliasDefault].Prefix, "shop:default"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	for name := range cfg.Aliases {
		if one.Aliases[name].Prefix == two.Aliases[name].Prefix {
			t.Errorf("alias %s: two databases share the prefix %q", name, one.Aliases[name].Prefix)
		}
	}
}
