package monitor

import "testing"

// TestKeyPattern: numbers, dates and hashes of a key become "*", names
// and the hex-looking words of a category's slug stay.
func TestKeyPattern(t *testing.T) {
	for key, want := range map[string]string{
		"shop:default:v1:product:42:reviews:lim=10:off=20":                      "shop:default:v1:product:*:reviews:lim=*:off=*",
		"shop:default:v1:frag:product_card:9f3a61c2d0b4:product-897-1732550400": "shop:default:v1:frag:product_card:*:product-*-*",
		"shop:default:v1:page:GET:/products/:id:id=5":                           "shop:default:v1:page:GET:/products/:id:id=*",
		"shop:default:v1:stats:day:2026-11-24":                                  "shop:default:v1:stats:day:*-*-*",
		"shop:default:v1:categories:deadbeef":                                   "shop:default:v1:categories:deadbeef",
		"shop:tag:product:7":                                                    "shop:tag:product:*",
	} {
		t.Run(key, func(t *testing.T) {
			if got := KeyPattern(key); got != want {
				t.Errorf("KeyPattern(%q) = %q, want %q", key, got, want)
			}
		})
	}
}
