package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/seed"
)

func seedCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "", stderr)
	scale := fs.Float64("scale", 1, "dataset size: 1 is ~1k products, 100 is ~100k products")
	seedValue := fs.Int64("seed", 1, "which dataset: the same seed and scale give the same rows")
	reset := fs.Bool("reset", false, "empty every shop table first (destroys its data)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *scale <= 0 || *scale > 10_000 {
		return fmt.Errorf("--scale must be above 0 and at most 10000, got %v", *scale)
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.MigrateUp(ctx, pool, io.Discard); err != nil {
		return err
	}
	if *reset {
		if err := seed.Reset(ctx, pool); err != nil {
			return err
		}
	}
	want := seed.Size(*scale)
	fmt.Fprintf(stdout, "seeding scale %v (seed %d): %d categories, %d products, %d users, %d orders, %d reviews\n",
		*scale, *seedValue, want.Categories, want.Products, want.Users, want.Orders, want.Reviews)
	start := time.Now()
	got, err := seedDatabase(ctx, cfg, pool, *scale, *seedValue, stderr)
	if errors.Is(err, seed.ErrNotEmpty) {
		return fmt.Errorf("%w: run `shop seed --reset` to replace it", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d products and %d orders in %s\n", got.Products, got.Orders, time.Since(start).Round(time.Millisecond))
	printLogins(stdout, cfg)
	return nil
}

// printLogins tells how to log in to a seeded shop. The default passwords
// are printed, being a documented local convenience; passwords set in the
// environment never are.
func printLogins(w io.Writer, cfg config) {
	show := func(pw, fallback, env string) string {
		if pw == fallback {
			return pw
		}
		return "(the password in " + env + ")"
	}
	fmt.Fprintf(w, "log in as admin@shop.test / %s, or demo@shop.test / %s (every userN@shop.test has the demo password too)\n",
		show(cfg.AdminPassword, defaultAdminPassword, "SHOP_ADMIN_PASSWORD"),
		show(cfg.DemoPassword, defaultDemoPassword, "SHOP_DEMO_PASSWORD"))
}
