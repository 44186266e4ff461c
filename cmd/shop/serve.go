package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/seed"
	"example.com/shop/internal/web"
	"github.com/prometheus/client_golang/prometheus"
)

func serve(ctx context.Context, cfg config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := newFlags("serve", stdout)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on")
	setup := fs.Bool("setup", false, "create the database if missing, migrate, and seed scale 1 when empty (what `make run` does)")
	migrateFirst := fs.Bool("migrate", true, "apply pending migrations before serving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger.Info("starting", "config", cfg)

	if *setup {
		if err := createDatabase(ctx, cfg.DatabaseURL, stdout); err != nil {
			return err
		}
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *setup || *migrateFirst {
		if err := migrateUp(ctx, pool, stdout); err != nil {
			return err
		}
	}
	if *setup {
		empty, err := seed.IsEmpty(ctx, pool)
		if err != nil {
			return err
		}
		if empty {
			fmt.Fprintln(stdout, "the database is empty: seeding a small dataset (scale 1)")
			if _, err := seedDatabase(ctx, cfg, pool, 1, 1, stdout); err != nil {
				return err
			}
		}
	}

	caches, err := cache.Open(cfg.Cache, cache.NewMetrics(prometheus.NewRegistry()), logger)
	if err != nil {
		return err
	}
	defer caches.Close()
	logger.Info("caches", "config", cfg.Cache)

	svc, err := web.NewServices(pool, caches, cfg.BcryptCost, logger)
	if err != nil {
		return err
	}
	handler, err := web.New(web.Config{
		SecureCookies: cfg.SecureCookies, AdminToken: cfg.AdminToken, RequestTimeout: cfg.RequestTimeout, Hosts: cfg.Hosts,
	}, svc, logger)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "the shop is serving on http://%s\n", displayAddr(ln.Addr()))
	if *setup {
		printLogins(stdout, cfg)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// displayAddr turns a listening address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
