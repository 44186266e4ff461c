package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTx runs fn inside one transaction on pool and commits when fn returns
// nil; any error, or a panic, rolls it back. fn must not keep q after it
// returns. Nothing a transaction writes is visible to other requests before
// InTx returns, so callers invalidate caches after InTx, never inside fn.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(q *Queries) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return fn(New(tx))
	})
}
