// Package money is the shop's one representation of an amount of money: a
// whole number of cents. It is exact (no floats anywhere near a price),
// reads and writes PostgreSQL numeric, and travels as a decimal string
// ("12.50") in forms and JSON.
//
// It knows nothing about currencies: the shop has one.
package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// Money is an amount in cents. The zero value is 0.00.
type Money int64

// Max is the largest amount the shop accepts as input: the schema's
// numeric(12,2) holds up to 9,999,999,999.99.
const Max Money = 999_999_999_999

// ErrInvalid reports text that is not an amount the shop accepts.
var ErrInvalid = errors.New("money: not an amount like 12.50")

// Parse reads a non-negative decimal amount with at most two decimals:
// "12", "12.5" and "12.50" are all 1250 cents.
func Parse(s string) (Money, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, ErrInvalid
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || Money(n) > Max {
		return 0, ErrInvalid
	}
	return Money(n), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String formats m as a plain decimal with two places: "12.50", "-0.05".
func (m Money) String() string {
	sign := ""
	c := int64(m)
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// Times returns m multiplied by a quantity.
func (m Money) Times(q int32) Money { return m * Money(q) }

// MarshalJSON writes m as a JSON string, "12.50": a float would not
// round-trip every amount.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads an amount written as a JSON string ("12.50").
func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ErrInvalid
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// NumericValue lets pgx write m to a numeric column.
func (m Money) NumericValue() (pgtype.Numeric, error) {
	return pgtype.Numeric{Int: big.NewInt(int64(m)), Exp: -2, Valid: true}, nil
}

// ScanNumeric lets pgx read a numeric column into m, rounding half away
// from zero to the cent (averages have more decimals than prices).
func (m *Money) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid {
		return errors.New("money: cannot scan NULL")
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		return errors.New("money: cannot scan a non-finite numeric")
	}
	cents := new(big.Int).Set(n.Int)
	shift := int64(n.Exp) + 2 // the power of ten that turns n.Int into cents
	switch {
	case shift > 0:
		cents.Mul(cents, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
	case shift < 0:
		div := new(big.Int).Exp(big.NewInt(10), big.NewInt(-shift), nil)
		q, r := new(big.Int).QuoRem(cents, div, new(big.Int))
		if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(div) >= 0 {
			q.Add(q, big.NewInt(int64(cents.Sign())))
		}
		cents = q
	}
	if !cents.IsInt64() || cents.Int64() == math.MinInt64 {
		return errors.New("money: amount out of range")
	}
	*m = Money(cents.Int64())
	return nil
}
