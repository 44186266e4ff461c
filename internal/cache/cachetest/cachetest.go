// Package cachetest starts real cache servers for tests: Redis servers, a
// three-master Redis Cluster and memcached servers on free loopback ports,
// each a process of its own that a test can stop, kill, freeze (SIGSTOP)
// and restart. It also names the shared local Redis and gives each test a
// key prefix of its own there.
//
// It needs the redis-server, redis-cli and memcached binaries (.ci/run
// installs them); a test that needs one that is missing fails saying so.
package cachetest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// QuietRedis silences what the go-redis client library logs on its own
// ("connection refused" from the pool of a client whose server a fault test
// killed). The library has one logger per process, which no single test
// owns, so a test package that starts Redis clients calls QuietRedis from
// its TestMain; what a test needs to know about Redis it learns from the
// errors its calls return.
func QuietRedis() {
	redis.SetLogger(&logging.VoidLogger{})
}

// SharedRedisURL is the Redis the suite shares (REDIS_TEST_URL, by default
// the local one); tests keep apart by key prefix.
func SharedRedisURL() string {
	if u := os.Getenv("REDIS_TEST_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

var prefixes atomic.Int64

// Prefix returns a key prefix no other test uses, in this process or any
// other.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("test:%d:%d:%d", os.Getpid(), time.Now().UnixNano()%1e9, prefixes.Add(1))
}

// Server is a server process a test started.
type Server struct {
	t    testing.TB
	Addr string
	name string
	args []string
	dir  string
	cmd  *exec.Cmd
}

func binary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s is not installed: `apt-get install %s` (.ci/run does)", name, map[string]string{
		"redis-server": "redis-server", "redis-cli": "redis-tools", "memcached": "memcached",
	}[name])
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// FreePort returns a loopback TCP port nobody listens on. A cluster node
// also needs port+10000, so ports stay below 55000.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port < 55000 {
			if bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000)); err == nil {
				bus.Close()
				return port
			}
		}
	}
	t.Fatal("no free port")
	return 0
}

// StartRedis starts a redis-server of the test's own, keeping nothing on
// disk, with extra arguments (such as "--maxmemory", "2mb").
func StartRedis(t testing.TB, extra ...string) *Server {
	t.Helper()
	port := FreePort(t)
	dir := t.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no"}, extra...)
	s := &Server{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port), name: binary(t, "redis-server"), args: args, dir: dir}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// URL returns the redis:// URL of a Redis server.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts (or restarts) the process and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.name, s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s on %s did not start: %v", s.name, s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the process (SIGKILL) and waits for it: its data is gone.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a frozen process cannot die
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze stops the process with SIGSTOP: it keeps its connections open and
// answers nothing, the worst case for a client.
func (s *Server) Freeze() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// Thaw resumes a frozen process.
func (s *Server) Thaw() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// StartCluster starts a Redis Cluster of three masters on free loopback
// ports and returns its redis+cluster:// URL once every slot is served.
func StartCluster(t testing.TB) string {
	t.Helper()
	var addrs []string
	for range 3 {
		s := StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs = append(addrs, s.Addr)
	}
	cli := binary(t, "redis-cli")
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("create cluster: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, a := range addrs {
			out, _ := exec.Command(cli, "-h", strings.Split(a, ":")[0], "-p", strings.Split(a, ":")[1], "cluster", "info").Output()
			ok = ok && strings.Contains(string(out), "cluster_state:ok")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// StartMemcached starts n memcached servers of the test's own.
func StartMemcached(t testing.TB, n int) []*Server {
	t.Helper()
	var out []*Server
	for range n {
		port := FreePort(t)
		s := &Server{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port), name: binary(t, "memcached"),
			args: []string{"-p", strconv.Itoa(port), "-l", "127.0.0.1", "-U", "0", "-m", "64", "-u", "nobody"}}
		s.Start()
		t.Cleanup(s.Kill)
		out = append(out, s)
	}
	return out
}

// Addrs returns the addresses of servers.
func Addrs(servers []*Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr
	}
	return out
}

// RedisCommand runs a command against a Redis server with redis-cli and
// returns its output: for fault tests (CLIENT PAUSE, DEBUG SLEEP, CONFIG SET).
func RedisCommand(t testing.TB, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t, "redis-cli"), append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// RedisInfo returns a field of INFO from a Redis server.
func RedisInfo(t testing.TB, addr, field string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(RedisCommand(t, addr, "INFO")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Relaxed returns cache timeouts for tests that are not about timeouts: the
// whole suite runs at once under the race detector on two cores, where a
// Redis call of half a millisecond can take a hundred. Tests of slow and
// dead stores keep the real ones.
func Relaxed() map[string]string {
	return map[string]string{
		"CACHE_TIMEOUT": "3s", "REDIS_DIAL_TIMEOUT": "2s", "REDIS_READ_TIMEOUT": "2s", "REDIS_WRITE_TIMEOUT": "2s",
	}
}

// Caches opens the shop's caches for a test from cache settings (the
// variables of backend.ConfigFromEnv; none: in memory; Relaxed timeouts
// and no consistency sampler unless given: the sampler loads a hit once
// more, beside the test, which would break any count of loads), with a
// key prefix of the test's own, recording to metrics when given, logging
// to the test's log, and closes them when the test ends. Their database
// identity is made of the prefix: caches opened with the same
// CACHE_PREFIX (several instances of one shop) share their entries, as
// on one database.
func Caches(t testing.TB, env map[string]string, metrics ...*monitor.Metrics) *backend.Caches {
	t.Helper()
	return open(t, "", env, metrics, nil)
}

// Sampled is Caches whose default and long-term aliases offer every hit
// to a consistency sampler of o (Share and Rate: every hit, 10,000 checks
// a second, unless given), and the sampler.
func Sampled(t testing.TB, env map[string]string, o monitor.ConsistencyOptions) (*backend.Caches, *monitor.Consistency) {
	t.Helper()
	if o.Share == 0 {
		o.Share = 1
	}
	if o.Rate == 0 {
		o.Rate = 10000
	}
	c := open(t, "", env, nil, &o)
	return c, monitor.ConsistencyOf(c)
}

// CachesFor is Caches for the database of pool, under its identity, as
// the shop opens them (see backend.Config.ForDatabase): what a test of
// several shops, or of a shop and a command, on one store needs.
func CachesFor(t testing.TB, pool *pgxpool.Pool, env map[string]string, metrics ...*monitor.Metrics) *backend.Caches {
	t.Helper()
	id, err := db.New(pool).DatabaseIdentity(context.Background())
	if err != nil {
		t.Fatalf("read the database's identity: %v", err)
	}
	return open(t, id, env, metrics, nil)
}

// open opens the caches of env, with a sampler of sampler's options or,
// when nil, of env's.
func open(t testing.TB, identity string, env map[string]string, metrics []*monitor.Metrics, sampler *monitor.ConsistencyOptions) *backend.Caches {
	t.Helper()
	vars := map[string]string{"CACHE_PREFIX": Prefix(t), "CACHE_CONSISTENCY_SAMPLE": "0"}
	for k, v := range Relaxed() {
		vars[k] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := backend.ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	with := backend.With{Logger: testlog.New(t, slog.LevelInfo)}
	var m *monitor.Metrics
	if len(metrics) > 0 {
		m = metrics[0]
		with.Recorder = m
	}
	o := monitor.ConsistencyOptions{Share: cfg.ConsistencySample, Rate: cfg.ConsistencyRate}
	if sampler != nil {
		o = *sampler
	}
	if o.Metrics == nil {
		o.Metrics = m
	}
	if o.Logger == nil {
		o.Logger = with.Logger
	}
	if s := monitor.NewConsistency(o); s != nil {
		with.Checker = s
	}
	if identity == "" {
		identity = "test-database:" + cfg.Prefix
	}
	c, err := backend.Open(cfg.ForDatabase(identity), with)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// RelaxedRedis are timeouts for tests about what the cache does rather
// than how fast, such as coalescing under a burst of a thousand
// goroutines: with the race detector on two cores, Redis calls that take
// half a millisecond take a hundred. The failure tests keep the shop's
// real timeouts.
func RelaxedRedis(url string) backend.RedisOptions {
	return backend.RedisOptions{URL: url, DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
}

// RedisStore opens a Redis store on url with RelaxedRedis timeouts,
// closed when the test ends.
func RedisStore(t testing.TB, url string) *backend.Redis {
	t.Helper()
	r, err := backend.NewRedis(RelaxedRedis(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Stop freezes p with SIGSTOP and returns once Linux reports it stopped:
// the signal is delivered asynchronously, and a process still running
// for a moment after it was sent could answer what the test sends next.
func Stop(t testing.TB, p *os.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("/proc/%d/stat", p.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(stat)
		// The state follows the command's closing parenthesis.
		if _, after, ok := strings.Cut(string(b), ") "); err == nil && ok && strings.HasPrefix(after, "T") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped 10 s after SIGSTOP: %q, %v", p.Pid, b, err)
		}
		time.Sleep(time.Millisecond)
	}
}
