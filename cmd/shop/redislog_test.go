package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
)

// TestRedisClientLog: what the Redis client library reports on its own (a
// pool that cannot dial) reaches the shop's log, in the shop's format,
// rather than the process's stderr in the library's.
//
// Not parallel: the library has one logger per process, and the runs of
// parallel tests would point it at their own logs meanwhile.
func TestRedisClientLog(t *testing.T) {
	vars := map[string]string{
		"CACHE_STORE": "redis", "REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d/0", cachetest.FreePort(t)),
		"CACHE_PREFIX": cachetest.Prefix(t), "LOG_LEVEL": "warn",
		// shop cache acts on the entries of this database (its identity).
		"DATABASE_URL": testdb.NewURL(t),
	}
	var stderr testlog.Buffer
	if err := run(context.Background(), []string{"cache", "flush", "default"}, env(vars), io.Discard, &stderr); err == nil {
		t.Fatal("flushing a Redis nobody runs succeeded")
	}
	log := stderr.String()
	if !strings.Contains(log, `level=WARN msg="redis client: connection pool: failed to dial`) {
		t.Errorf("the shop's log does not have the client's dial failure:\n%s", log)
	}
}
