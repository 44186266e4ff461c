package main

import (
	"strings"
	"sync"
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

// wholeLines fails the test when a write does not end a line.
type wholeLines struct {
	t      *testing.T
	mu     sync.Mutex
	writes int
}

func (w *wholeLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if len(p) > 0 && p[len(p)-1] != '\n' {
		w.t.Errorf("a write of %d bytes ends inside a line", len(p))
	}
	return len(p), nil
}

// TestLogBufferKeepsLinesWhole: lines from several goroutines, more than
// the buffer holds, reach the log in writes that each end a line, so the
// shop's other log lines, written beside them, never fall inside one.
func TestLogBufferKeepsLinesWhole(t *testing.T) {
	t.Parallel()
	out := &wholeLines{t: t}
	b := newLogBuffer(out)
	line := []byte(strings.Repeat("x", 999) + "\n")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				b.Write(line)
			}
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if out.writes < 2 {
		t.Errorf("200 KB of lines in %d writes: the buffer never filled", out.writes)
	}
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}
