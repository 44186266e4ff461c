package web

import (
	"context"
	"errors"
	"log/slog"

	"example.com/shop/internal/background"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewServices builds the domains on the database and the caches, and
// wires what crosses between them: every domain declares the rules of the
// tables it caches reads of, and one change listener (Services.Changes)
// applies them to every row change, whoever wrote it; the domains' writes
// wait for it (Sync) before they answer. The caller runs the listener.
// The shop and its tests build their services here, the same way.
func NewServices(pool *pgxpool.Pool, caches *cache.Caches, bcryptCost int, logger *slog.Logger) (Services, error) {
	queries := db.New(pool)
	listener := changes.NewListener(changes.Config{
		Pool:  pool,
		Rules: changes.NewRules(catalog.Rules(), orders.Rules(), stats.Rules(), accounts.Rules()),
		Tags:  caches.Tags,
		Everything: func(ctx context.Context) error {
			return errors.Join(caches.Default.Flush(ctx), caches.LongTerm.Flush(ctx))
		},
		Marks:  caches.Tags,
		Logger: logger,
	})
	listener.CacheInUse = caches.InUse
	acc, err := accounts.NewService(queries, accounts.Options{
		BcryptCost: bcryptCost, Sessions: caches.Sessions, Cache: caches.Default, Changes: listener, Logger: logger,
	})
	if err != nil {
		return Services{}, err
	}
	store := catalog.NewCachedStore(queries, caches.Default)
	return Services{
		Pool:     pool,
		Caches:   caches,
		Changes:  listener,
		Accounts: acc,
		Catalog:  catalog.NewService(store, listener),
		Orders:   orders.NewService(orders.NewCachedStore(queries, caches.Default), pool, listener),
		Stats:    stats.NewService(queries, caches.Default, caches.LongTerm),
		jobs:     background.New(),
		searches: store.Searches(),
	}, nil
}
