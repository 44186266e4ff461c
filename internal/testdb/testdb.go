// Package testdb gives each test a PostgreSQL database of its own, migrated
// (and seeded, when asked), so that tests run in parallel against a real
// server and never see each other's rows.
//
// Each test process migrates (and seeds) a template database once, and
// every test clones it with CREATE DATABASE ... TEMPLATE, which takes tens
// of milliseconds. Databases are dropped when their test ends; those of a
// test process that died are dropped by the next one.
//
// The server is TEST_DATABASE_URL, by default the local PostgreSQL as user
// postgres: postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
package testdb

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/seed"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// Password is the password of every seeded user (admin, demo and
// customers) in a Seeded database.
const Password = "test-password"

const prefix = "shop_test_"

var (
	counter   atomic.Int64
	templates sync.Map // template name -> *templateOnce
)

type templateOnce struct {
	once sync.Once
	err  error
}

// ServerURL returns the URL of the test server's maintenance database.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URL returns the URL of the database name on the test server.
func URL(t testing.TB, name string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// New returns a pool on a fresh, migrated, empty database.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := clone(t, "migrated", nil)
	return pool
}

// NewURL is New for code that opens its own pool: it returns the URL of a
// fresh, migrated, empty database.
func NewURL(t testing.TB) string {
	t.Helper()
	pool, url := clone(t, "migrated", nil)
	pool.Close()
	return url
}

// Seeded returns a pool on a fresh database seeded at the given scale with
// seed 1, where every user's password is Password. It also returns the
// database's URL.
func Seeded(t testing.TB, scale float64) (*pgxpool.Pool, string) {
	t.Helper()
	name := "seeded_" + strings.ReplaceAll(strconv.FormatFloat(scale, 'f', -1, 64), ".", "_")
	return clone(t, name, func(ctx context.Context, pool *pgxpool.Pool) error {
		hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		_, err = seed.Run(ctx, pool, seed.Options{Scale: scale, Seed: 1, AdminHash: string(hash), CustomerHash: string(hash)})
		return err
	})
}

// clone creates a database from this process's template of the given
// kind, making the template first (migrated, then filled by fill) when the
// process has none yet.
func clone(t testing.TB, kind string, fill func(context.Context, *pgxpool.Pool) error) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl := fmt.Sprintf("%s%d_tmpl_%s", prefix, os.Getpid(), kind)
	v, _ := templates.LoadOrStore(tmpl, &templateOnce{})
	to := v.(*templateOnce)
	to.once.Do(func() { to.err = makeTemplate(ctx, tmpl, fill) })
	if to.err != nil {
		t.Fatalf("make template database: %v", to.err)
	}

	name := fmt.Sprintf("%s%d_%d", prefix, os.Getpid(), counter.Add(1))
	if err := admin(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	url := URL(t, name)
	pool, err := db.Open(ctx, url)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return pool, url
}

func makeTemplate(ctx context.Context, name string, fill func(context.Context, *pgxpool.Pool) error) error {
	dropOrphans(ctx)
	if err := admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return err
	}
	if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		return err
	}
	pool, err := db.Open(ctx, fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name))
	if err != nil {
		return err
	}
	// A template must have no connections when it is cloned.
	defer pool.Close()
	if err := db.MigrateUp(ctx, pool, io.Discard); err != nil {
		return err
	}
	if fill != nil {
		return fill(ctx, pool)
	}
	return nil
}

// dropOrphans drops the test databases of test processes that are gone.
func dropOrphans(ctx context.Context) {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'shop\_test\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(n, prefix), "_")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// admin runs a statement on the server's maintenance database.
func admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return fmt.Errorf("connect to the test server (TEST_DATABASE_URL): %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
