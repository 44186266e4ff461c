package db

import (
	"context"
	"fmt"
	"io"

	"example.com/shop/db/migrations"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrator applies the embedded migrations. Several instances starting at
// once are safe: goose holds a PostgreSQL advisory lock while it migrates.
type Migrator struct {
	provider *goose.Provider
	closeDB  func() error
}

// NewMigrator returns a Migrator for the database behind pool. Close it.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p, closeDB: sqlDB.Close}, nil
}

// Close releases the Migrator's connection.
func (m *Migrator) Close() error { return m.closeDB() }

// Up applies every pending migration and writes one line per migration to w.
func (m *Migrator) Up(ctx context.Context, w io.Writer) error {
	results, err := m.provider.Up(ctx)
	for _, r := range results {
		fmt.Fprintf(w, "migrated up   %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
	}
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// MigrateUp applies every pending migration to the database of pool,
// writing one line per migration to w.
func MigrateUp(ctx context.Context, pool *pgxpool.Pool, w io.Writer) error {
	m, err := NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up(ctx, w)
}

// Down rolls back the latest migration.
func (m *Migrator) Down(ctx context.Context, w io.Writer) error {
	r, err := m.provider.Down(ctx)
	if r != nil {
		fmt.Fprintf(w, "migrated down %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
	}
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Status writes each migration and whether it is applied to w.
func (m *Migrator) Status(ctx context.Context, w io.Writer) error {
	status, err := m.provider.Status(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	for _, s := range status {
		at := "pending"
		if s.State == goose.StateApplied {
			at = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%-40s %s\n", s.Source.Path, at)
	}
	return nil
}

// Latest returns the version of the newest embedded migration.
func (m *Migrator) Latest() int64 {
	var v int64
	for _, s := range m.provider.ListSources() {
		v = max(v, s.Version)
	}
	return v
}
