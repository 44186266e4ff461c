package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"example.com/shop/internal/db"
	"example.com/shop/internal/warm"
)

func warmCmd(ctx context.Context, cfg config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("warm", "", stderr)
	home := fs.Bool("home", false, "warm the home page and the category list")
	categories := fs.Bool("categories", false, "warm the first page of every category")
	products := fs.Bool("products", false, "warm product pages, best sellers first")
	maxProducts := fs.Int("max-products", 0, "warm at most this many product pages (0: all)")
	concurrency := fs.Int("concurrency", 4, "pages warmed at once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*home && !*categories && !*products {
		*home, *categories, *products = true, true, true
	}
	if *concurrency < 1 || *concurrency > 64 {
		return errors.New("--concurrency must be from 1 to 64")
	}
	switch cfg.Cache.Store {
	case "none":
		return errors.New("CACHE_STORE=none: there is no cache to warm")
	case "memory":
		return errors.New("CACHE_STORE=memory: each process has its own cache, so warming it from another process fills nothing; " +
			"use `shop serve --warm`, or a shared store (redis, tiered, memcached)")
	}
	s, err := openShop(ctx, cfg, logger, nil, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	sum, err := warm.Run(ctx, s.handler, db.New(s.pool), warm.Options{
		Home: *home, Categories: *categories, Products: *products, MaxProducts: *maxProducts,
		Concurrency: *concurrency, Progress: stderr, Logger: logger,
	})
	fmt.Fprintln(stdout, sum)
	return err
}
