package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestServeSetup is `make run` on a machine with PostgreSQL and nothing
// else: the database does not exist yet, and one command creates it,
// migrates it, seeds it and serves the shop until it is told to stop.
func TestServeSetup(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("shop_test_%d_serve", os.Getpid())
	url := testdb.URL(t, name)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testdb.ServerURL())
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, stdout, done := startServe(ctx, t, map[string]string{"DATABASE_URL": url}, "--setup")
	for _, want := range []string{"created database " + name, "00001_schema.sql", "seeding a small dataset", "demo@shop.test / demo-password"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, stdout.String())
		}
	}
	// Ready once the change listener listens and the caches are warm.
	waitReady(t, http.DefaultClient, base)
	// The address and the logins are the last thing the start says, not
	// pushed off the screen by the warm-up's requests.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if n := len(lines); n < 2 || !strings.Contains(lines[n-2], "serving on "+base) || !strings.HasPrefix(lines[n-1], "log in as admin@shop.test") ||
		strings.Contains(stdout.String(), "msg=request") {
		t.Errorf("the start does not end with the address and the logins, or logged requests:\n%s", stdout.String())
	}
	// A first start has no changes to have missed, and says nothing of them.
	if out := stdout.String(); strings.Contains(out, "invalidating") || strings.Contains(out, "level=WARN") {
		t.Errorf("a first start warns or speaks of invalidating:\n%s", out)
	}
	for _, path := range []string{"/healthz", "/readyz", "/", "/products"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
	}

	cancel()
	stopped(t, done)

	// A second start finds the data and seeds nothing.
	out := runCmd(t, url, "seed", "--scale", "0.01")
	if !strings.Contains(out.err.Error(), "already holds shop data") {
		t.Errorf("seeding a seeded database: %v", out.err)
	}
}

// startServe runs `shop serve` in this process with the settings of env
// (and a free port, bcrypt cost 4 and info logs) until ctx is done. It
// returns the address it serves on, what it printed (stdout and stderr,
// as on a terminal) and where run's error arrives.
func startServe(ctx context.Context, t *testing.T, env map[string]string, args ...string) (string, *testlog.Buffer, <-chan error) {
	t.Helper()
	settings := map[string]string{"SHOP_ADDR": "127.0.0.1:0", "SHOP_BCRYPT_COST": "4", "LOG_LEVEL": "info"}
	maps.Copy(settings, env)
	var stdout testlog.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), func(k string) string { return settings[k] }, &stdout, &stdout)
	}()

	addr := regexp.MustCompile(`serving on (http://\S+)`)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], &stdout, done
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop did not start; it said:\n%s", stdout.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stdout.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitReady waits until the shop at base says it is ready.
func waitReady(t *testing.T, client *http.Client, base string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		res, err := client.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the shop never became ready")
		}
	}
}

// stopped waits for run to return after its context was cancelled.
func stopped(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the shop did not shut down")
	}
}

type cmdResult struct {
	stdout string
	err    error
}

func runCmd(t *testing.T, url string, args ...string) cmdResult {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, env(map[string]string{"DATABASE_URL": url, "SHOP_BCRYPT_COST": "4"}), &out, io.Discard)
	return cmdResult{stdout: out.String(), err: err}
}

func TestMigrateAndSeedCommands(t *testing.T) {
	t.Parallel()
	url := testdb.NewURL(t)
	if r := runCmd(t, url, "migrate", "status"); r.err != nil || !strings.Contains(r.stdout, "00001_schema.sql") || !strings.Contains(r.stdout, "applied") {
		t.Errorf("migrate status: %v\n%s", r.err, r.stdout)
	}
	if r := runCmd(t, url, "seed", "--scale", "0.02", "--seed", "3"); r.err != nil || !strings.Contains(r.stdout, "seeded 20 products") {
		t.Errorf("seed: %v\n%s", r.err, r.stdout)
	}
	if r := runCmd(t, url, "seed", "--scale", "0.02", "--reset"); r.err != nil {
		t.Errorf("seed --reset: %v", r.err)
	}
	for _, args := range [][]string{{"seed", "--scale", "0"}, {"migrate"}, {"migrate", "sideways"}, {"fly"}, {}} {
		if r := runCmd(t, url, args...); r.err == nil {
			t.Errorf("shop %v succeeded", args)
		}
	}
	if r := runCmd(t, url, "migrate", "down"); r.err != nil || !strings.Contains(r.stdout, "migrated down") {
		t.Errorf("migrate down: %v\n%s", r.err, r.stdout)
	}
}

func TestConfig(t *testing.T) {
	if _, err := loadConfig(env(nil)); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, bad := range []map[string]string{
		{"SHOP_ENV": "staging"}, {"LOG_LEVEL": "loud"}, {"LOG_FORMAT": "xml"},
		{"SHOP_BCRYPT_COST": "99"}, {"SHOP_REQUEST_TIMEOUT": "soon"}, {"SHOP_SECURE_COOKIES": "maybe"},
		{"SHOP_TRUSTED_PROXIES": "10.0.0.0/33"}, {"SHOP_TRUSTED_PROXIES": "haproxy"},
	} {
		if _, err := loadConfig(env(bad)); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
	proxies, err := loadConfig(env(map[string]string{"SHOP_TRUSTED_PROXIES": "127.0.0.1, ::1,10.1.2.3/8,"}))
	if got := fmt.Sprint(proxies.TrustedProxies); err != nil || got != "[127.0.0.1/32 ::1/128 10.0.0.0/8]" {
		t.Errorf("SHOP_TRUSTED_PROXIES: %s, %v", got, err)
	}
	cfg, _ := loadConfig(env(map[string]string{
		"DATABASE_URL": "postgres://shop:s3cret-pw@db:5432/shop", "SHOP_ADMIN_TOKEN": "t0ken-value", "SHOP_ADMIN_PASSWORD": "adm1n-pw",
	}))
	var logged bytes.Buffer
	newLogger(cfg, &logged).Info("starting", "config", cfg)
	if !strings.Contains(logged.String(), "db:5432") {
		t.Errorf("the configuration log lacks the database host: %s", logged.String())
	}
	if strings.Contains(logged.String(), "s3cret-pw") || strings.Contains(logged.String(), "t0ken-value") || strings.Contains(logged.String(), "adm1n-pw") {
		t.Errorf("the configuration log shows a secret: %s", logged.String())
	}
}
