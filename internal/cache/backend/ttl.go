package backend

import "time"

// ttlOrDefault keeps a zero or negative TTL from meaning "forever" in one
// store and "expire now" in another: every store treats it as one minute.
func ttlOrDefault(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return time.Minute
	}
	return ttl
}
