package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/web"
	"github.com/jackc/pgx/v5/pgxpool"
)

const cacheUsage = `Usage: shop cache <command>

  stats                what the cache store says of itself, and a sample of its keys by pattern
  keys PATTERN         the keys matching a glob pattern (SCAN, never KEYS), with their sizes
  flush ALIAS          make every entry of an alias a miss (default, long_term, sessions)
  invalidate TAG...    make every entry that depends on a tag a miss (product:42, category:7)
`

func cacheCmd(ctx context.Context, cfg config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	// The command line is read before the store is looked at, so that
	// help shows whatever the store.
	fs := newFlags("cache", "", stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), cacheUsage) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &usageError{err: errors.New("cache needs a command")}
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	keys := newFlags("cache keys", "PATTERN", stderr)
	limit := keys.Int("limit", 1000, "list at most this many keys")
	switch cmd {
	case "stats", "flush", "invalidate":
	case "keys":
		if err := parseFlags(keys, rest); err != nil {
			return err
		}
		if keys.NArg() != 1 {
			return &usageError{err: errors.New("cache keys needs one pattern, like 'shop:*:default:*' (shop cache stats shows the prefixes)")}
		}
	default:
		fs.Usage()
		return &usageError{err: fmt.Errorf("unknown cache command %q", cmd)}
	}
	switch cfg.Cache.Store {
	case "memory", "none":
		// This process's cache would be an empty one of its own: saying
		// "flushed" would be a lie.
		return fmt.Errorf("CACHE_STORE=%s: each shop process keeps its cache in its own memory, which this command cannot reach; "+
			"use /admin/cache of the running shop, or a shared store (redis, tiered, memcached)", cfg.Cache.Store)
	}
	// The keys are under the database's identity: the command acts on
	// the entries of the shop of DATABASE_URL, and no other.
	var caches *backend.Caches
	err := withPool(ctx, cfg.DatabaseURL, func(pool *pgxpool.Pool) (err error) {
		caches, err = openCaches(ctx, cfg.Cache, pool, nil, logger)
		return err
	})
	if err != nil {
		return err
	}
	defer caches.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	switch cmd {
	case "stats":
		return cacheStats(ctx, caches, stdout)
	case "keys":
		return cacheKeys(ctx, caches, keys.Arg(0), *limit, stdout)
	case "flush":
		if len(rest) != 1 || caches.Alias(rest[0]) == nil {
			return &usageError{err: errors.New("cache flush needs an alias: default, long_term or sessions")}
		}
		if err := caches.Alias(rest[0]).Flush(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "flushed the %s alias\n", rest[0])
		return nil
	default: // invalidate
		if len(rest) == 0 {
			return &usageError{err: errors.New("cache invalidate needs tags, like product:42")}
		}
		if err := caches.Tags.Invalidate(ctx, rest...); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "invalidated %s\n", strings.Join(rest, ", "))
		return nil
	}
}

func cacheStats(ctx context.Context, c *backend.Caches, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "store\t%s\n", c.Config.Store)
	var layers []string
	for _, l := range cache.Layers() {
		state := "on"
		if !c.Default.Enabled(l) && l != cache.LayerSession {
			state = "off"
		}
		layers = append(layers, string(l)+" "+state)
	}
	fmt.Fprintf(tw, "layers\t%s\n", strings.Join(layers, ", "))
	for _, a := range []*cache.Alias{c.Default, c.LongTerm, c.Sessions} {
		fmt.Fprintf(tw, "alias %s\tprefix %s, TTL %s\n", a.Name(), a.Prefix(), a.TTL())
	}
	if c.Redis != nil {
		nodes, err := monitor.RedisInfo(ctx, c.Redis)
		if err != nil {
			fmt.Fprintf(tw, "redis\tunreachable: %v\n", err)
		}
		for _, n := range nodes {
			fmt.Fprintf(tw, "\nredis %s\tkeyspace hit rate %.1f%%\n", n.Addr, n.HitRate())
			for _, f := range web.RedisFields() {
				fmt.Fprintf(tw, "  %s\t%s\n", f, n.Fields[f])
			}
		}
	}
	tw.Flush()
	if c.Config.Store == "memcached" || c.Config.Store == "none" || c.Config.Store == "memory" {
		fmt.Fprintf(w, "\nkeys: the %s store cannot be listed from another process\n", c.Config.Store)
		return nil
	}
	rep, err := monitor.AnalyzeKeys(ctx, c, "", 1000)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nkeys: a sample of %d\n", rep.Scanned)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "keys\tKB\tpattern\t")
	for _, p := range rep.Patterns {
		fmt.Fprintf(tw, "%d\t%.1f\t%s\t\n", p.Keys, float64(p.Bytes)/1024, p.Pattern)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nlargest keys")
	for _, k := range rep.Largest {
		fmt.Fprintf(w, "  %8d  %s\n", k.Bytes, k.Key)
	}
	return nil
}

func cacheKeys(ctx context.Context, c *backend.Caches, pattern string, limit int, w io.Writer) error {
	rep, err := monitor.AnalyzeKeys(ctx, c, pattern, limit)
	if errors.Is(err, cache.ErrUnsupported) {
		return fmt.Errorf("the %s store cannot list its keys", c.Config.Store)
	}
	if err != nil {
		return err
	}
	// AnalyzeKeys keeps the ten largest; list them all here.
	keys, err := c.Keys(ctx, pattern, limit)
	if err != nil {
		return err
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintln(w, k)
	}
	fmt.Fprintf(w, "%d keys (of at most %d scanned), in %d patterns\n", len(keys), limit, len(rep.Patterns))
	return nil
}
