// Package changestest runs a change listener for a test.
package changestest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen runs a listener of the database of pool that applies rules to
// caches, until the test ends, and returns it once it is ready.
func Listen(t testing.TB, pool *pgxpool.Pool, caches *backend.Caches, rules ...[]changes.Rule) *changes.Listener {
	t.Helper()
	l := changes.NewListener(changes.Config{
		Pool: pool, Rules: changes.NewRules(rules...), Tags: caches.Tags,
		Everything: func(ctx context.Context) error {
			return errors.Join(caches.Default.Flush(ctx), caches.LongTerm.Flush(ctx))
		},
		Marks: caches.Tags, Logger: testlog.New(t, slog.LevelWarn),
	})
	Run(t, l)
	return l
}

// Run runs l until the test ends, and returns once it is ready.
func Run(t testing.TB, l *changes.Listener) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { l.Run(ctx); close(done) }()
	select {
	case <-l.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the change listener did not start")
	}
}
