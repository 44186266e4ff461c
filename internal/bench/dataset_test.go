package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5"
)

// TestDatasetConcurrentRuns: runs that start at once on one server (two
// checkouts' test suites) seed their dataset once between them, and none
// copies it before it is complete.
func TestDatasetConcurrentRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A dataset of this test alone, dropped at its end.
	seedValue := time.Now().UnixNano() % 1_000_000_000
	const scale = 0.01
	template := "shop_bench_" + strings.ReplaceAll(fmt.Sprintf("s%g_%d", scale, seedValue), ".", "_")
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testdb.ServerURL())
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})

	const runs = 3
	var wg sync.WaitGroup
	progress := make([]testlog.Buffer, runs)
	for i := range runs {
		wg.Go(func() {
			url, drop, err := dataset(ctx, testdb.ServerURL(), scale, seedValue, &progress[i])
			if err != nil {
				t.Errorf("run %d: %v\n%s", i, err, progress[i].String())
				return
			}
			defer drop()
			pool, err := db.Open(ctx, url)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			defer pool.Close()
			var products, users int
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM users)`).Scan(&products, &users); err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			if products == 0 || users == 0 {
				t.Errorf("run %d copied an incomplete dataset: %d products, %d users", i, products, users)
			}
		})
	}
	wg.Wait()
	seeded := 0
	for i := range progress {
		out := progress[i].String()
		t.Logf("run %d:\n%s", i, out)
		if strings.Contains(out, "dataset: seeding") {
			seeded++
		} else if !strings.Contains(out, "dataset: reusing") {
			t.Errorf("run %d neither seeded nor reused the dataset", i)
		}
	}
	if seeded != 1 {
		t.Errorf("%d of %d concurrent runs seeded the dataset, want 1", seeded, runs)
	}
}
