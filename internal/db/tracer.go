package db

import (
	"context"
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
type tracer struct{}

type startKey struct{}

func (tracer) start(ctx context.Context) context.Context {
	if StatsFrom(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, startKey{}, time.Now())
}

func (tracer) end(ctx context.Context, statements int64) {
	s := StatsFrom(ctx)
	if s == nil {
		return
	}
	s.queries.Add(statements)
	if t, ok := ctx.Value(startKey{}).(time.Time); ok {
		s.nanos.Add(int64(time.Since(t)))
	}
}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return t.start(ctx)
}

func (t tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	t.end(ctx, 1)
}

func (t tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.start(ctx)
}

func (tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	if s := StatsFrom(ctx); s != nil {
		s.queries.Add(1)
	}
}

func (t tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	t.end(ctx, 0)
}

func (t tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return t.start(ctx)
}

func (t tracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	t.end(ctx, 1)
}

var (
	_ pgx.QueryTracer    = tracer{}
	_ pgx.BatchTracer    = tracer{}
	_ pgx.CopyFromTracer = tracer{}
)
