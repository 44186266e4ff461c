package bench

import (
	"context"
	"fmt"
	"slices"

	"example.com/shop/internal/stalecheck"
)

// audit compares, once a comparison's rounds are over, every field of the
// pages its load touched with what the cache-off shop (on the same
// database) renders now: the products whose price or stock any phase
// changed since the last audit, on either shop (the cache-off shop's
// writes reach the cache-on one through the database, the way most
// likely to lose an invalidation), the most visited ones, their JSON, the
// home page, the first page of every list and the most made searches.
// The price ledger checks the reads made during the load; the audit
// checks what the cache holds after it, whatever the field (a stock, a
// rating, a name in a list), so a lost invalidation shows here. An audit
// that cannot run is noted, and fails the stale-read target.
func (r *runner) audit(ctx context.Context, off, on *shop, after string) error {
	written := r.written
	r.written = nil
	for _, in := range on.instances() {
		if err := r.auditOne(ctx, off, in, written, after); err != nil {
			return err
		}
	}
	return nil
}

// auditOne audits one instance of the cache-on shop.
func (r *runner) auditOne(ctx context.Context, off, on *shop, written map[int64]bool, after string) error {
	processed := func(ctx context.Context) (int64, error) {
		c, err := on.counters(ctx)
		return c.Processed, err
	}
	found, err := stalecheck.Audit(ctx, stalecheck.AuditConfig{
		Cached: on.url, Uncached: off.url, DB: r.pool, Processed: processed, Paths: r.auditPaths(written), After: after,
	})
	a := &r.report.Audit
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.Failed++
		r.note("The audit of %s after %s could not run: %v", on.config.Name, after, err)
		r.say("  audit failed: %v", err)
		return nil
	}
	a.Audits++
	a.Pages += found.Compared
	a.Marked += found.Marked
	a.Differences += len(found.Differences)
	for _, d := range found.Differences {
		if len(a.Samples) < 5 {
			a.Samples = append(a.Samples, on.config.Name+" at "+on.url+": "+d.String())
		}
	}
	r.say("  audit: %d pages compared with the cache-off shop's, %d differ", found.Compared, len(found.Differences))
	return nil
}

// auditPaths are the pages an audit compares.
func (r *runner) auditPaths(written map[int64]bool) []string {
	paths := []string{"/"}
	for _, slug := range r.cat.Categories {
		for _, sort := range sorts {
			paths = append(paths, listPath(slug, sort, 1))
		}
	}
	for _, q := range r.cat.Searches[:min(len(r.cat.Searches), 10)] {
		paths = append(paths, searchPath(q))
	}
	ids := r.cat.ProductIDs[:min(len(r.cat.ProductIDs), 50)] // the most visited (Zipf from the first)
	changed := make([]int64, 0, len(written))
	for id := range written {
		changed = append(changed, id)
	}
	slices.Sort(changed)
	ids = append(slices.Clone(ids), changed[:min(len(changed), 300)]...)
	for _, id := range ids {
		paths = append(paths, fmt.Sprintf("/products/%d", id), fmt.Sprintf("/api/products/%d", id))
	}
	return paths
}
