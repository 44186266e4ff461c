// Command shop is the shop: one binary that serves it, migrates and seeds
// its database, warms and inspects its caches, and runs the benchmark
// (cmd/shopbench, a binary of its own). Run "shop help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
