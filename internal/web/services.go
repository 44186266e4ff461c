package web

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"example.com/shop/internal/background"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/monitor"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/stats"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ServiceOptions is what NewServices builds the shop's services of.
type ServiceOptions struct {
	Pool       *pgxpool.Pool
	Caches     *backend.Caches
	BcryptCost int
	Logger     *slog.Logger
	// Metrics, those the pool and the caches were opened with, are served
	// at /metrics, count the change listener's work and feed the admin
	// page's hit-rate chart; nil: none.
	Metrics *Metrics
	// Ready reports what keeps the shop from being ready beyond its
	// database and its change listener (a warm-up in progress); nil:
	// nothing.
	Ready func() error
}

// NewServices builds the domains on the database and the caches, and
// wires what crosses between them: every domain declares the rules of the
// tables it caches reads of, and one change listener (Services.Changes)
// applies them to every row change, whoever wrote it; the domains' writes
// wait for it (Sync) before they answer. The caller runs the listener and
// the sampler, and closes the services.
func NewServices(o ServiceOptions) (Services, error) {
	pool, caches, logger := o.Pool, o.Caches, o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
	var sampler *monitor.Sampler
	if o.Metrics != nil {
		listener.Observe = o.Metrics.Change
		o.Metrics.ChangesProcessed(listener.Processed)
		// A point of the admin page's chart every 10 seconds, for an hour.
		sampler = monitor.NewSampler(o.Metrics.Cache, 10*time.Second, 360)
	}
	acc, err := accounts.NewService(queries, accounts.Options{
		BcryptCost: o.BcryptCost, Sessions: caches.Sessions, Cache: caches.Default, Changes: listener, Logger: logger,
	})
	if err != nil {
		return Services{}, err
	}
	store := catalog.NewCachedStore(queries, caches.Default)
	svc := Services{
		Pool:     pool,
		Caches:   caches,
		Changes:  listener,
		Accounts: acc,
		Catalog:  catalog.NewService(store, listener),
		Orders:   orders.NewService(orders.NewCachedStore(queries, caches.Default), pool, listener),
		Stats:    stats.NewService(queries, caches.Default, caches.LongTerm),
		Metrics:  o.Metrics,
		Sampler:  sampler,
		jobs:     background.New(),
		searches: store.Searches(),
		ready: func() error {
			select {
			case <-listener.Ready():
			default:
				return errors.New("not listening for database changes yet")
			}
			if o.Ready != nil {
				return o.Ready()
			}
			return nil
		},
	}
	svc.jobs.Go(func(ctx context.Context) { svc.Stats.KeepSalesWindow(ctx, logger) })
	svc.jobs.Go(func(ctx context.Context) { svc.Orders.SweepGuestCarts(ctx, logger) })
	return svc, nil
}
