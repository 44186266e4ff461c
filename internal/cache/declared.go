package cache

import "time"

// Declared is how stale a value that no write invalidates may be: what
// its pages promise ("as of …", at most Bound old) and how it is cached
// (Opts, Load). It is declared once, beside the read, and both the read
// and the page take it from there, so that the promise and the caching
// cannot drift apart; a test holds every declaration to
// MaxAge() <= Bound.
type Declared struct {
	// Bound is the most a value may be behind the database, while the
	// database answers: what the page says.
	Bound time.Duration
	// Opts is how the value is cached; its TTL must be set (the alias's
	// TTL is configuration, which the declaration cannot answer for).
	// StaleIfError is not part of the bound: it serves an older value
	// only while the database fails, with the time it was made shown.
	Opts Opts
	// Load bounds a load: the value's "as of" is taken when the load
	// starts, and it is stored when the load ends.
	Load time.Duration
}

// MaxAge is how old a value can be when it is served while the database
// answers: made when its load starts, stored up to Load later, fresh for
// Opts.TTL, then served for Opts.Stale while one caller reloads it. A
// page built from it is kept no longer than the value may be served (see
// Dependencies.Until). A shared cache in front (a CDN allowed by
// SHOP_SHARED_MAX_AGE) may add its own age.
func (d Declared) MaxAge() time.Duration { return d.Load + d.Opts.TTL + d.Opts.Stale }

// Options returns Opts with the bound: what to give Remember, so that the
// consistency sampler judges the value against its declared staleness.
func (d Declared) Options() Opts {
	o := d.Opts
	o.Bound = d.Bound
	return o
}
