package catalog_test

import (
	"testing"

	"example.com/shop/internal/cache/cachetest"
)

// TestMain silences the Redis client library's own logger, which belongs
// to the whole test process: the fault tests kill Redis servers on
// purpose, and each test reads what went wrong from its own calls' errors
// and its own log.
func TestMain(m *testing.M) {
	cachetest.QuietRedis()
	m.Run()
}
