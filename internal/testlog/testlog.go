// Package testlog gives a test a logger of its own whose lines go to the
// test's log: `go test` shows them only when the test fails (or with -v),
// so the expected noise of fault injection never buries a failure.
//
// It is for tests only and knows nothing about the shop.
package testlog

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"testing"
)

// New returns a logger that writes through t's log, in the text format the
// shop logs in, at level and above. A test that makes thousands of
// requests logs from warn up: its failure would be buried under its
// access lines.
func New(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(Writer(t), &slog.HandlerOptions{Level: level}))
}

// Writer returns a writer to t's log, for the output of a process or of a
// command the test runs. It is safe for concurrent use, and it drops what
// is written once t has ended: background goroutines (a reconnecting
// client, a listener winding down) may outlive a test, and the testing
// package panics on a write to a test that has completed.
func Writer(t testing.TB) io.Writer {
	w := &writer{out: t.Output()}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return w
}

type writer struct {
	mu   sync.Mutex
	out  io.Writer
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	return w.out.Write(p)
}

// Buffer is a bytes.Buffer that is safe for concurrent use: a server or a
// listener writes it in its goroutine while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
