package money_test

import (
	"context"
	"encoding/json"
	"testing"

	"example.com/shop/internal/money"
	"example.com/shop/internal/testdb"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    money.Money
		wantErr bool
	}{
		{"12.50", 1250, false},
		{"12.5", 1250, false},
		{"12", 1200, false},
		{" 0.05 ", 5, false},
		{"0", 0, false},
		{"9999999999.99", money.Max, false},
		{"10000000000.00", 0, true},
		{"-1.00", 0, true},
		{"1.234", 0, true},
		{"1.", 0, true},
		{".5", 0, true},
		{"1e3", 0, true},
		{"12,50", 0, true},
		{"", 0, true},
		{"NaN", 0, true},
		{"１２", 0, true}, // full-width digits are not digits here
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := money.Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestStringAndJSON(t *testing.T) {
	for _, tt := range []struct {
		m    money.Money
		want string
	}{{0, "0.00"}, {5, "0.05"}, {1250, "12.50"}, {-5, "-0.05"}, {123456789, "1234567.89"}} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Money(%d).String() = %q, want %q", tt.m, got, tt.want)
		}
		b, err := json.Marshal(tt.m)
		if err != nil || string(b) != `"`+tt.want+`"` {
			t.Errorf("json.Marshal(%d) = %s, %v", tt.m, b, err)
		}
	}
	var m money.Money
	if err := json.Unmarshal([]byte(`"7.25"`), &m); err != nil || m != 725 {
		t.Errorf(`Unmarshal("7.25") = %d, %v`, m, err)
	}
	if err := json.Unmarshal([]byte(`7.25`), &m); err == nil {
		t.Error("Unmarshal accepted a JSON number; prices travel as strings")
	}
}

// TestNumericRoundTrip writes amounts through PostgreSQL numeric and back,
// including the rounding of values with more than two decimals.
func TestNumericRoundTrip(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	ctx := context.Background()
	for _, m := range []money.Money{0, 1, 99, 1250, money.Max} {
		var got money.Money
		if err := pool.QueryRow(ctx, "SELECT $1::numeric(14,2)", m).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != m {
			t.Errorf("round trip of %s gave %s", m, got)
		}
	}
	for _, tt := range []struct {
		sql  string
		want money.Money
	}{
		{"SELECT 10.005::numeric", 1001}, // half away from zero
		{"SELECT 10.004::numeric", 1000},
		{"SELECT avg(x) FROM (VALUES (1.00::numeric), (2.00), (2.00)) v(x)", 167},
		{"SELECT 3::numeric", 300},
		{"SELECT 1.5e3::numeric", 150000},
	} {
		var got money.Money
		if err := pool.QueryRow(ctx, tt.sql).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if got != tt.want {
			t.Errorf("%s scanned as %d, want %d", tt.sql, got, tt.want)
		}
	}
	var m money.Money
	if err := pool.QueryRow(ctx, "SELECT NULL::numeric").Scan(&m); err == nil {
		t.Error("scanning NULL into Money succeeded; it must fail loudly")
	}
}
