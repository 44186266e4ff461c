package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/db"
	"github.com/jackc/pgx/v5"
)

// TestDevPostgres runs scripts/dev-postgres as `make run` and `make stop-db`
// do, on a port of its own (never the machine's 5432), in a data directory
// the server's user can reach and in one it cannot (under root, a
// t.TempDir is 0700, as a checkout under /root is): the private PostgreSQL
// starts on a free port when its port is taken, answers, takes the shop's
// migrations, is reused rather than started twice, stops, and starts again
// on its data.
func TestDevPostgres(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		reachable bool // the server's user can enter the data directory
	}{
		{"data dir the server can reach", true},
		{"data dir the server cannot reach", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := t.TempDir()
			if tc.reachable {
				for _, d := range []string{filepath.Dir(state), state} {
					if err := os.Chmod(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			testDevPostgres(t, state, tc.reachable)
		})
	}
}

func testDevPostgres(t *testing.T, state string, reachable bool) {
	root := os.Geteuid() == 0
	t.Cleanup(func() { stopAndRemove(t, state) })

	// Something that answers but is not PostgreSQL holds the preferred port.
	dummy := notPostgres(t)
	taken := dummy.Addr().(*net.TCPAddr).Port
	env := []string{"SHOP_DATA_DIR=" + state, "SHOP_DB_PORT=" + strconv.Itoa(taken), "DATABASE_URL="}

	out, log := devPostgres(t, env, "start")
	port := urlPort(t, out)
	if port == taken || port == 5432 {
		t.Fatalf("the private PostgreSQL is on port %d; want a free port other than %d and 5432", port, taken)
	}
	for _, want := range []string{
		fmt.Sprintf("127.0.0.1:%d answers, but not as a PostgreSQL", taken),
		fmt.Sprintf("on 127.0.0.1:%d instead", port),
		"make stop-db",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("start says %q; want it to say %q", log, want)
		}
	}

	cluster := filepath.Join(state, "postgres")
	if fi, err := os.Lstat(cluster); err != nil {
		t.Fatal(err)
	} else if wantLink := root && !reachable; (fi.Mode()&os.ModeSymlink != 0) != wantLink {
		t.Errorf("%s has mode %v; want a symbolic link to a directory of its own: %v", cluster, fi.Mode(), wantLink)
	}
	pid := postmaster(t, cluster)
	if root {
		if uid := processUID(t, pid); uid == 0 {
			t.Errorf("the private PostgreSQL (pid %d) runs as root", pid)
		}
	}

	migrate(t, out)

	// A second start reuses the running server: same URL, same process.
	again, log := devPostgres(t, env, "start")
	if again != out {
		t.Errorf("second start prints %q; want the running server's %q", again, out)
	}
	if strings.Contains(log, "Creating") {
		t.Errorf("second start says %q; want no second initdb", log)
	}
	if p := postmaster(t, cluster); p != pid {
		t.Errorf("second start left postmaster %d; want the first one, %d", p, pid)
	}

	_, log = devPostgres(t, env, "stop")
	if want := fmt.Sprintf("Stopped the private PostgreSQL on 127.0.0.1:%d", port); !strings.Contains(log, want) {
		t.Errorf("stop says %q; want %q", log, want)
	}
	// pg_ctl stop -w returns once the server is gone.
	if err := ping(out); err == nil {
		t.Errorf("the private PostgreSQL still answers at %s after stop", out)
	}
	if _, log = devPostgres(t, env, "stop"); !strings.Contains(log, "nothing to stop") {
		t.Errorf("a second stop says %q; want it to say there is nothing to stop", log)
	}

	// With its port free again, the private server starts there, on the
	// data it had.
	if err := dummy.Close(); err != nil {
		t.Fatal(err)
	}
	out, log = devPostgres(t, env, "start")
	if p := urlPort(t, out); p != taken {
		t.Errorf("start on a free port %d prints %q", taken, out)
	}
	if strings.Contains(log, "Creating") {
		t.Errorf("restart says %q; want it to reuse the cluster", log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, out)
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&n); err != nil {
		t.Errorf("the migrated database is gone after a restart: %v", err)
	}
}

// devPostgres runs the script with env added to the test's environment and
// returns its stdout (the URL, trimmed) and stderr (what it says).
func devPostgres(t *testing.T, env []string, args ...string) (string, string) {
	t.Helper()
	stdout, stderr, err := runScript(env, args...)
	t.Logf("dev-postgres %s:\n%s", strings.Join(args, " "), stderr)
	if err != nil {
		t.Fatalf("dev-postgres %s: %v", strings.Join(args, " "), err)
	}
	return stdout, stderr
}

func runScript(env []string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"dev-postgres"}, args...)...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "DATABASE_URL", "SHOP_DATA_DIR", "SHOP_DB_PORT":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSpace(stdout.String()), stderr.String(), err
}

// stopAndRemove stops the private server of state, if it runs, and removes
// its data when it lives outside state.
func stopAndRemove(t *testing.T, state string) {
	_, stderr, err := runScript([]string{"SHOP_DATA_DIR=" + state}, "stop")
	if err != nil {
		t.Errorf("clean-up: dev-postgres stop: %v\n%s", err, stderr)
	}
	target, err := os.Readlink(filepath.Join(state, "postgres"))
	if err != nil {
		return // no link: the data is inside state, which the test removes
	}
	if filepath.Dir(target) != "/var/tmp" || !strings.HasPrefix(filepath.Base(target), "shop-postgres.") {
		t.Errorf("clean-up: %s points to %s, not a private data directory; left as is", state, target)
		return
	}
	if err := os.RemoveAll(target); err != nil {
		t.Errorf("clean-up: %v", err)
	}
}

// notPostgres listens on a free loopback port and answers every connection
// as an HTTP server would.
func notPostgres(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n")
			c.Close()
		}
	}()
	return ln
}

func urlPort(t *testing.T, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("dev-postgres prints %q; want a postgres:// URL on 127.0.0.1", raw)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("dev-postgres prints %q, without a port", raw)
	}
	return p
}

// postmaster returns the process id of the server of cluster (a directory
// or a link to one).
func postmaster(t *testing.T, cluster string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster, "postmaster.pid"))
	if err != nil {
		t.Fatalf("the private PostgreSQL does not run: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(first)
	if err != nil {
		t.Fatalf("postmaster.pid starts with %q", first)
	}
	return pid
}

func processUID(t *testing.T, pid int) uint32 {
	t.Helper()
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no owner for process %d", pid)
	}
	return st.Uid
}

// migrate creates the database the URL names and applies the shop's
// migrations to it.
func migrate(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("the private PostgreSQL does not answer at %s: %v", u, err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	pool, err := db.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.MigrateUp(ctx, pool, io.Discard); err != nil {
		t.Fatal(err)
	}
}

// ping connects to the server at dbURL's "postgres" database.
func ping(dbURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	return errors.Join(conn.Ping(ctx), conn.Close(ctx))
}
