package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the database of DATABASE_URL's default: the local
// PostgreSQL's shop database, user postgres.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/shop?sslmode=disable"

// Open connects a pool to the database at url and checks that it answers.
// Every connection counts its statements into the request's Stats (see
// WithStats), and into metrics when it is not nil. Pool settings come from
// the URL (pool_max_conns and friends); the default size, max(4, CPUs),
// suits a small box, where more connections only queue inside PostgreSQL.
//
// Parallel query is off for the shop's connections unless the URL sets
// max_parallel_workers_per_gather (a query parameter of its own; sent at
// connection, it also overrides what the role or database sets): the
// shop's statements take a few milliseconds, less than starting the
// workers costs, and its requests already keep the cores busy. Measured
// at scale 100 on two cores, a search that matches 2,000 products takes
// 30 ms with two workers and 13 ms without.
func Open(ctx context.Context, url string, metrics ...Metrics) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	t := tracer{}
	if len(metrics) > 0 {
		t.metrics = metrics[0]
	}
	cfg.ConnConfig.Tracer = t
	if _, set := cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"]; !set {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(url), err)
	}
	return pool, nil
}

// WithApplicationName returns url with its application_name parameter set:
// the name PostgreSQL shows for the connections, and the origin the change
// notifications carry (see internal/changes).
func WithApplicationName(url, name string) (string, error) {
	if _, err := pgconn.ParseConfig(url); err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	u, err := neturl.Parse(url)
	if err != nil || u.Scheme == "" {
		// A keyword/value connection string: append the setting.
		return url + " application_name=" + quoteDSN(name), nil
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func quoteDSN(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Redact returns url with its password replaced by "xxxxx", for logs and
// error messages.
func Redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparseable database url)"
	}
	user := cfg.User
	if cfg.Password != "" {
		user += ":xxxxx"
	}
	return fmt.Sprintf("postgres://%s@%s/%s", user, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database)
}

// ErrNotFound is what the shop's domain packages map pgx.ErrNoRows to,
// through IsNotFound, so that callers never compare against a driver error.
var ErrNotFound = errors.New("not found")

// IsNotFound reports whether err means "no such row".
func IsNotFound(err error) bool {
	return errors.Is(err, pgx.ErrNoRows) || errors.Is(err, ErrNotFound)
}

// IsUniqueViolation reports whether err is a violated unique constraint,
// and which one.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// IsUnavailable reports whether err means the database could not be reached
// or did not answer in time, as opposed to refusing a statement: the web
// layer answers 503 for these.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// A pooled connection the server or the network dropped: the
		// first query on it after an outage ends so.
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &pgErr):
		// 57P01..57P03: admin shutdown, crash shutdown, cannot connect now;
		// 57014: statement timeout; 08xxx: connection exceptions.
		return pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
			pgErr.Code == "57014" || pgErr.Code[:2] == "08"
	}
	return pgconn.SafeToRetry(err)
}
