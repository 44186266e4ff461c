package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"example.com/shop/internal/db"
)

func migrate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("migrate", stdout)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: shop migrate up | down | status") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("migrate needs one of up, down, status")
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
	switch fs.Arg(0) {
	case "up":
		return m.Up(ctx, stdout)
	case "down":
		return m.Down(ctx, stdout)
	case "status":
		return m.Status(ctx, stdout)
	}
	fs.Usage()
	return fmt.Errorf("unknown migrate direction %q", fs.Arg(0))
}
