package stalecheck

import (
	"context"
	"errors"
	"time"

	"example.com/shop/internal/changes"

	"github.com/jackc/pgx/v5/pgxpool"
)

// AuditConfig says what an audit compares: the pages, anonymous, of a
// cache-on shop and of a cache-off one on the same database.
type AuditConfig struct {
	Cached, Uncached string // base URLs
	// DB is the shops' database: its change log, and the products of
	// marked parts.
	DB *pgxpool.Pool
	// Processed is the last database change whose invalidations the
	// cache-on shop has run (its shop_changes_processed): the audit waits
	// until it has heard of every change committed before it began.
	Processed func(context.Context) (int64, error)
	Paths     []string
	// After says what the audit follows, for its differences' Write:
	// "the full mix at 280 requests/s".
	After string
}

// AuditReport is what an audit found.
type AuditReport struct {
	Compared    int // pages compared
	Marked      int // marked parts checked against their bound
	Differences []Difference
}

// Audit waits until the cache-on shop has heard of every change committed
// so far, then fetches every path from both shops and compares them as
// the differential check does: whole responses, and marked parts against
// their declared bound. It is the differential check for a load that has
// written at random: call it once every write of the load is
// acknowledged, and a difference is a page the cache-on shop serves
// otherwise than what the data now is.
func Audit(ctx context.Context, cfg AuditConfig) (AuditReport, error) {
	if cfg.Cached == "" || cfg.Uncached == "" || cfg.DB == nil || cfg.Processed == nil {
		return AuditReport{}, errors.New("audit: give a cache-on and a cache-off shop, their database and what the cache-on one has processed")
	}
	last, err := lastChange(ctx, cfg.DB)
	if err != nil {
		return AuditReport{}, err
	}
	if err := waitProcessed(ctx, cfg.Cached, last, time.Now().Add(30*changes.ExternalBound), cfg.Processed); err != nil {
		return AuditReport{}, err
	}
	d := &diff{
		cfg:       DiffConfig{Cached: []string{cfg.Cached}, Uncached: cfg.Uncached, DB: cfg.DB},
		client:    newClient(),
		stale:     map[string]Difference{},
		instances: []string{cfg.Cached, cfg.Uncached},
	}
	pages := make([]page, len(cfg.Paths))
	for i, p := range cfg.Paths {
		pages[i] = page{path: p}
	}
	err = d.compare(ctx, cfg.After, "load", union(pages, nil))
	return AuditReport{Compared: d.report.Compared, Marked: d.report.Marked, Differences: d.report.Differences}, err
}
