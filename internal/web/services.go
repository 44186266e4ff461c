package web

import (
	"context"
	"errors"
	"log/slog"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/db"
	"example.com/shop/internal/events"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewServices builds the domains on the database and the caches, and
// wires what crosses between them: every domain publishes its writes on
// one bus (Services.Events), and registers on it the rules that invalidate
// its caches. The shop and its tests build their services here, the same
// way.
func NewServices(pool *pgxpool.Pool, caches *cache.Caches, bcryptCost int, logger *slog.Logger) (Services, error) {
	queries := db.New(pool)
	bus := events.NewBus(logger)
	acc, err := accounts.NewService(queries, accounts.Options{
		BcryptCost: bcryptCost, Sessions: caches.Sessions, Cache: caches.Default, Events: bus, Logger: logger,
	})
	if err != nil {
		return Services{}, err
	}
	bus.Register(events.On("cache: writes may have been missed -> every entry of the shared aliases",
		func(ctx context.Context, _ events.Everything) error {
			return errors.Join(caches.Default.Flush(ctx), caches.LongTerm.Flush(ctx))
		}))
	bus.Register(catalog.Rules(caches.Tags, queries)...)
	bus.Register(orders.Rules(caches.Tags)...)
	bus.Register(stats.Rules(caches.Tags)...)
	bus.Register(accounts.Rules(caches.Tags)...)
	return Services{
		Pool:     pool,
		Caches:   caches,
		Events:   bus,
		Accounts: acc,
		Catalog:  catalog.NewService(catalog.NewCachedStore(queries, caches.Default), bus),
		Orders:   orders.NewService(orders.NewCachedStore(queries, caches.Default), pool, bus),
		Stats:    stats.NewService(queries, caches.Default, caches.LongTerm),
	}, nil
}
