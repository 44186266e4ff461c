package main

import (
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/testlog"
)

// TestLogBuffer: lines logged are all written within a while, without a
// Close, and after Close each is written at once.
func TestLogBuffer(t *testing.T) {
	t.Parallel()
	var out testlog.Buffer
	b := newLogBuffer(&out)
	for range 3 {
		b.Write([]byte("request\n"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "request\n") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the log holds %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.Write([]byte("late\n"))
	if !strings.HasSuffix(out.String(), "late\n") {
		t.Errorf("a line logged after Close is not written: %q", out.String())
	}
}
