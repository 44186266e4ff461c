package background_test

import (
	"context"
	"sync/atomic"
	"testing"

	"example.com/shop/internal/background"
)

// TestCloseWaits: Close cancels what runs and returns only once it has
// returned; after it, Go runs nothing.
func TestCloseWaits(t *testing.T) {
	g := background.New()
	var running, returned atomic.Int64
	started := make(chan struct{}, 3)
	for range 3 {
		if !g.Go(func(ctx context.Context) {
			running.Add(1)
			started <- struct{}{}
			<-ctx.Done()
			returned.Add(1)
		}) {
			t.Fatal("a running group refused a goroutine")
		}
	}
	for range 3 {
		<-started
	}
	g.Close()
	if returned.Load() != 3 {
		t.Fatalf("Close returned with %d of 3 goroutines still running", 3-returned.Load())
	}
	if g.Go(func(context.Context) { running.Add(1) }) {
		t.Error("a closed group ran a goroutine")
	}
	g.Close()
	if running.Load() != 3 {
		t.Errorf("%d goroutines ran, want 3", running.Load())
	}
}
