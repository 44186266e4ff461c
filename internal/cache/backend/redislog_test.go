package backend_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"example.com/shop/internal/cache/backend"
)

func TestRedisLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level  slog.Level
		format string
		args   []any
		want   string
	}{
		{slog.LevelWarn, "redis: connection pool: failed to dial after %d attempts: %v", []any{1, "refused"},
			"level=WARN msg=\"redis client: connection pool: failed to dial after 1 attempts: refused\"\n"},
		{slog.LevelInfo, "sentinel: new master=%q addr=%q", []any{"shop", "10.0.0.2:6379"},
			`level=WARN msg="redis client: sentinel: new master=\"shop\" addr=\"10.0.0.2:6379\""` + "\n"},
		{slog.LevelError, "redis: connection pool: failed to dial after %d attempts: %v", []any{1, "refused"}, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{
			Level: tt.level,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
		backend.RedisLog{Logger: logger}.Printf(context.Background(), tt.format, tt.args...)
		if b.String() != tt.want {
			t.Errorf("logger at %s, %q: logged %q, want %q", tt.level, tt.format, b.String(), tt.want)
		}
	}
}
