package backend

import (
	"fmt"
	"testing"
)

// TestRendezvousSpreadsKeys: keys spread evenly over servers whose
// addresses differ only in a few characters (several memcached on one host,
// on neighbouring or random ports), and removing a server moves only the
// keys it had.
func TestRendezvousSpreadsKeys(t *testing.T) {
	t.Parallel()
	const keys = 6000
	for _, servers := range [][]string{
		{"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"},
		{"127.0.0.1:42063", "127.0.0.1:51183", "127.0.0.1:59107"},
		{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"},
	} {
		t.Run(fmt.Sprint(servers), func(t *testing.T) {
			r, err := newRendezvous(servers)
			if err != nil {
				t.Fatal(err)
			}
			first := map[string]string{}
			counts := map[string]int{}
			for i := range keys {
				k := fmt.Sprintf("shop:default:v1:page:%d", i)
				a, _ := r.PickServer(k)
				first[k] = a.String()
				counts[a.String()]++
			}
			// Each server's share is within a fifth of a fair one: far
			// outside chance for a good hash, well inside it for a bad one.
			fair := keys / len(servers)
			for _, s := range servers {
				if n := counts[s]; n < fair*4/5 || n > fair*6/5 {
					t.Errorf("%s got %d of %d keys, a fair share is %d: %v", s, n, keys, fair, counts)
				}
			}
			gone := servers[0]
			r.markDown(gone)
			for k, was := range first {
				a, _ := r.PickServer(k)
				if now := a.String(); (was == gone) == (now == was) {
					t.Fatalf("%s moved from %s to %s when %s went down", k, was, now, gone)
				}
			}
		})
	}
}
