package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/db"
	"example.com/shop/internal/seed"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// createDatabase creates the database named in url when it does not exist
// yet, connecting to the server's "postgres" database to do so.
func createDatabase(ctx context.Context, url string, out io.Writer) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w (is PostgreSQL running? `make run` starts one under .data/ when it can)", db.Redact(url), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	fmt.Fprintf(out, "created database %s\n", name)
	return nil
}

// withPool runs fn with a pool on url, closed afterwards.
func withPool(ctx context.Context, url string, fn func(*pgxpool.Pool) error) error {
	pool, err := db.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(pool)
}

// seedDatabase seeds an empty database with the configured passwords.
func seedDatabase(ctx context.Context, cfg config, pool *pgxpool.Pool, scale float64, seedValue int64, progress io.Writer) (seed.Counts, error) {
	adminHash, err := accounts.HashPassword(cfg.AdminPassword, cfg.BcryptCost)
	if err != nil {
		return seed.Counts{}, err
	}
	customerHash, err := accounts.HashPassword(cfg.DemoPassword, cfg.BcryptCost)
	if err != nil {
		return seed.Counts{}, err
	}
	return seed.Run(ctx, pool, seed.Options{
		Scale: scale, Seed: seedValue, AdminHash: adminHash, CustomerHash: customerHash, Progress: progress,
	})
}
