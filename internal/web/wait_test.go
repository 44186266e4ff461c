package web_test

import (
	"testing"
	"time"
)

// eventually polls cond until it holds, and reports whether it did before
// within had passed. Tests wait for what they need to have happened this
// way, never for a fixed time: how long it takes depends on how busy the
// machine is; whether it happens does not.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
	return true
}

// waitFor is eventually for a condition the test cannot go on without: it
// fails the test with what (a format and its arguments) when cond still
// does not hold after within.
func waitFor(t testing.TB, within time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	if !eventually(within, cond) {
		t.Fatalf("after %s: "+what, append([]any{within}, args...)...)
	}
}
