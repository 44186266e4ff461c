package bench

import (
	"sync"
	"time"

	"example.com/shop/internal/money"
	"example.com/shop/internal/stalecheck"
)

// Prices hands out the prices of the load's price changes and checks its
// reads against them. Every change to a product asks for a price above the
// last one, so a price is the version of its product; one change per
// product is in flight at a time, so their commits keep that order. It is
// safe for concurrent use.
type Prices struct {
	mu     sync.Mutex
	last   map[int64]money.Money // the highest price asked for, by product
	busy   map[int64]bool        // a change in flight
	ledger *stalecheck.Ledger
}

// NewPrices starts from the products' current prices.
func NewPrices(current map[int64]money.Money) *Prices {
	p := &Prices{last: map[int64]money.Money{}, busy: map[int64]bool{}, ledger: stalecheck.NewLedger()}
	for id, price := range current {
		p.last[id] = price
	}
	return p
}

// Claim returns the next price of product, one cent or more above the
// last, and marks a change in flight; false when one already is.
func (p *Prices) Claim(product int64) (money.Money, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy[product] {
		return 0, false
	}
	p.busy[product] = true
	p.last[product]++
	return p.last[product], true
}

// Done ends the change of product to price: when the shop acknowledged it
// (ok), at the time its response arrived, the ledger holds every later
// read to it.
func (p *Prices) Done(product int64, price money.Money, ok bool, at time.Time) {
	if ok {
		p.ledger.Ack(product, price, at)
	}
	p.mu.Lock()
	delete(p.busy, product)
	p.mu.Unlock()
}

// Stale reports whether a read of product that began at start and showed
// saw missed an acknowledged change.
func (p *Prices) Stale(product int64, saw money.Money, start time.Time) bool {
	_, _, stale := p.ledger.Stale(product, saw, start)
	return stale
}
