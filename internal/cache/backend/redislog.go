package backend

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// RedisLog is a logger for what the go-redis client library reports on its
// own, outside any call's error: a pool that cannot dial, a Sentinel
// failover, Cluster slots that moved, a Ring shard that went down or came
// back. Left alone, the library prints these to the process's stderr;
// redis.SetLogger(backend.RedisLog{Logger: logger}) sends them to the shop's
// log instead, at warn level, prefixed "redis client:".
//
// The library keeps one logger for the whole process, so the program sets
// it once, where it starts; tests that start Redis clients silence it
// (cachetest.QuietRedis), since no test owns the process.
type RedisLog struct {
	Logger *slog.Logger
}

// Printf logs one of the library's messages. It is safe for concurrent use.
func (l RedisLog) Printf(ctx context.Context, format string, v ...any) {
	if l.Logger == nil || !l.Logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.Logger.WarnContext(ctx, "redis client: "+msg)
}
