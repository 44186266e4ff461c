package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// benchCmd runs the benchmark, a command of its own (cmd/shopbench) so
// that this binary links neither the load generator nor the plots:
// shopbench beside this binary (make build puts both in bin/), or on
// PATH, with this binary as the shop it starts and the flags as given.
func benchCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the shop binary: %w", err)
	}
	path := filepath.Join(filepath.Dir(self), "shopbench")
	if _, err := exec.LookPath(path); err != nil {
		if path, err = exec.LookPath("shopbench"); err != nil {
			return fmt.Errorf("shop bench runs shopbench, which is neither beside %s nor on PATH: build it with make build (go build -o bin/shopbench ./cmd/shopbench)", self)
		}
	}
	cmd := exec.CommandContext(ctx, path, append([]string{"--shop", self}, args...)...)
	// Stopped, shopbench stops its shops, its Redis and its dataset: a
	// SIGTERM, and time to do it, rather than the default SIGKILL.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	cmd.Env = append(os.Environ(), "DATABASE_URL="+cfg.DatabaseURL, "REDIS_URL="+cfg.Cache.RedisURL)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if exit.ExitCode() == 2 {
			return &usageError{err: err, shown: true}
		}
		return fmt.Errorf("run %s: %w", path, err)
	}
	return err
}
