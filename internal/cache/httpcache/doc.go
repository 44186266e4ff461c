// Package httpcache is the shop's HTTP caching as Echo middleware, beside
// the core package cache, which it uses: HTTP is the browser and CDN
// layer (an ETag from the body, 304 to a matching If-None-Match,
// Cache-Control and Vary), Page the page cache (whole responses kept
// through an alias, depending on every tag the handler's cached reads
// depended on), and Capture the Recorder that holds a response while both
// look at it. A page is kept as bytes of its own layout (page.go) with
// cache.Alias.WriteBytes and read back with ReadBytes, which checks its
// generations as for any other entry.
package httpcache
