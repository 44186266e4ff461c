package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"example.com/shop/internal/db"
)

func migrate(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "", stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: shop migrate up | down | status") }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var apply func(*db.Migrator) error
	switch {
	case fs.NArg() != 1:
		fs.Usage()
		return &usageError{err: errors.New("migrate needs one of up, down, status")}
	case fs.Arg(0) == "up":
		apply = func(m *db.Migrator) error { return m.Up(ctx, stdout) }
	case fs.Arg(0) == "down":
		apply = func(m *db.Migrator) error { return m.Down(ctx, stdout) }
	case fs.Arg(0) == "status":
		apply = func(m *db.Migrator) error { return m.Status(ctx, stdout) }
	default:
		fs.Usage()
		return &usageError{err: fmt.Errorf("unknown migrate direction %q", fs.Arg(0))}
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	return apply(m)
}
