package db

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Stats counts the SQL statements run on behalf of one request, and the time
// they took, as seen by the pgx tracer: nothing is counted by hand, so a
// statement nobody expected still shows in X-DB-Queries. It is safe for
// concurrent use by the goroutines of one request.
type Stats struct {
	queries atomic.Int64
	nanos   atomic.Int64

	// With Log, each statement is kept too, for the debug panel.
	log        atomic.Bool
	mu         sync.Mutex
	statements []Statement
}

// Statement is one SQL statement a request ran.
type Statement struct {
	SQL  string // the text, shortened
	Took time.Duration
	Err  string
}

// MaxStatements bounds the statements a Stats keeps; counting goes on.
const MaxStatements = 200

// Log makes s keep the text and time of each statement from now on.
func (s *Stats) Log() { s.log.Store(true) }

// Statements returns the kept statements, in the order they ran.
func (s *Stats) Statements() []Statement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Statement(nil), s.statements...)
}

// Metrics receives every statement, for Prometheus; nil: none.
type Metrics interface {
	Statement(took time.Duration, failed bool)
}

// Queries returns the number of statements counted so far.
func (s *Stats) Queries() int64 { return s.queries.Load() }

// Duration returns the time the counted statements took, end to end.
func (s *Stats) Duration() time.Duration { return time.Duration(s.nanos.Load()) }

type statsKey struct{}

// WithStats returns a context that counts the statements run with it into a
// new Stats, and that Stats.
func WithStats(ctx context.Context) (context.Context, *Stats) {
	s := new(Stats)
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFrom returns the Stats of ctx, or nil when it has none.
func StatsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

// tracer implements pgx's tracer interfaces for queries, batches and copies.
type tracer struct {
	metrics Metrics
}

type startKey struct{}

type started struct {
	at  time.Time
	sql string
}

func (t tracer) start(ctx context.Context, sql string) context.Context {
	if StatsFrom(ctx) == nil && t.metrics == nil {
		return ctx
	}
	return context.WithValue(ctx, startKey{}, started{time.Now(), sql})
}

func (t tracer) end(ctx context.Context, statements int64, err error) {
	st, ok := ctx.Value(startKey{}).(started)
	if !ok {
		return
	}
	took := time.Since(st.at)
	if t.metrics != nil {
		t.metrics.Statement(took, err != nil)
	}
	s := StatsFrom(ctx)
	if s == nil {
		return
	}
	s.queries.Add(statements)
	s.nanos.Add(int64(took))
	if s.log.Load() {
		s.keep(st.sql, took, err)
	}
}

func (s *Stats) keep(sql string, took time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statements) >= MaxStatements {
		return
	}
	st := Statement{SQL: shorten(sql), Took: took}
	if err != nil {
		st.Err = err.Error()
	}
	s.statements = append(s.statements, st)
}

// shorten keeps a statement readable in a table: sqlc's "-- name:" line
// first, whitespace folded, at most 300 characters.
func shorten(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 300 {
		sql = sql[:300] + "…"
	}
	return sql
}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, d.SQL)
}

func (t tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	t.end(ctx, 1, d.Err)
}

func (t tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.start(ctx, "(batch)")
}

func (tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	if s := StatsFrom(ctx); s != nil {
		s.queries.Add(1)
	}
}

func (t tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	t.end(ctx, 0, d.Err)
}

func (t tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	return t.start(ctx, "COPY "+d.TableName.Sanitize())
}

func (t tracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	t.end(ctx, 1, d.Err)
}

var (
	_ pgx.QueryTracer    = tracer{}
	_ pgx.BatchTracer    = tracer{}
	_ pgx.CopyFromTracer = tracer{}
)
