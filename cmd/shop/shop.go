package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"

	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/db"
	"example.com/shop/internal/web"
	"github.com/jackc/pgx/v5/pgxpool"
)

// shop is everything a running shop is made of, for serve and warm.
type shop struct {
	pool     *pgxpool.Pool
	caches   *backend.Caches
	services web.Services
	handler  http.Handler
	// origin names this process's database connections, and so the
	// change notifications of its own writes.
	origin string
	dbURL  string
}

// openShop connects to the database and the caches and builds the
// services and the HTTP handler. ready, when not nil, is what /readyz
// reports beyond the database answering and the change listener
// listening. Close it.
func openShop(ctx context.Context, cfg config, logger, access *slog.Logger, ready func() error) (*shop, error) {
	host, _ := os.Hostname()
	origin := fmt.Sprintf("shop/%s/%d", host, os.Getpid())
	url, err := db.WithApplicationName(cfg.DatabaseURL, origin)
	if err != nil {
		return nil, err
	}
	metrics := web.NewMetrics()
	pool, err := db.Open(ctx, url, metrics)
	if err != nil {
		return nil, err
	}
	caches, err := openCaches(ctx, cfg.Cache, pool, metrics.Cache, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &shop{pool: pool, caches: caches, origin: origin, dbURL: cfg.DatabaseURL}
	s.services, err = web.NewServices(web.ServiceOptions{
		Pool: pool, Caches: caches, BcryptCost: cfg.BcryptCost, Logger: logger, Metrics: metrics, Ready: ready,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.handler, err = web.New(web.Config{
		SecureCookies: cfg.SecureCookies, AdminToken: cfg.AdminToken, RequestTimeout: cfg.RequestTimeout, Hosts: cfg.Hosts,
		Dev: cfg.Env == "development", MetricsToken: cfg.MetricsToken, SharedMaxAge: cfg.SharedMaxAge,
		TrustedProxies: cfg.TrustedProxies, AccessLog: access,
	}, s.services, logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openCaches opens the caches of cfg for the database of pool: every key
// and generation lives under the database's identity (see
// backend.Config.ForDatabase), so that no other database served through the
// same store reads them. A serving shop's caches (those with metrics)
// record to metrics and have a consistency sampler check a share of their
// hits (CACHE_CONSISTENCY_SAMPLE); a command's have neither.
func openCaches(ctx context.Context, cfg backend.Config, pool *pgxpool.Pool, metrics *monitor.Metrics, logger *slog.Logger) (*backend.Caches, error) {
	id, err := db.New(pool).DatabaseIdentity(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the database's identity (is it migrated? shop migrate up): %w", err)
	}
	with := backend.With{Logger: logger}
	if metrics != nil {
		with.Recorder = metrics
		s := monitor.NewConsistency(monitor.ConsistencyOptions{
			Share: cfg.ConsistencySample, Rate: cfg.ConsistencyRate, Metrics: metrics, Logger: logger,
		})
		if s != nil {
			with.Checker = s
		}
	}
	return backend.Open(cfg.ForDatabase(id), with)
}

func (s *shop) Close() {
	if s.services.Accounts != nil {
		s.services.Close() // its warm-up and pending logouts need the caches
	}
	_ = s.caches.Close()
	s.pool.Close()
}

// deployFingerprint identifies what the cached values were made with: the
// build (web.BuildVersion) and the aliases' key versions. A start with
// a new fingerprint (a deploy that changed them) warms the caches.
func deployFingerprint(cfg backend.Config) string {
	h := sha256.New()
	h.Write([]byte(web.BuildVersion()))
	names := make([]string, 0, len(cfg.Aliases))
	for n := range cfg.Aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s:%d:%s;", n, cfg.Aliases[n].Version, cfg.Aliases[n].Prefix)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
