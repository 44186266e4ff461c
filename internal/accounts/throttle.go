package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"example.com/shop/internal/params"
)

// Login throttling. Failed logins are counted in the sessions store (never
// evicted by cache data, shared by every instance), in windows of
// ThrottleWindow:
//
//   - per address: after FailuresPerAddress failures on any accounts,
//     that address may not log in at all until the window ends;
//   - per account and address: after FailuresPerAccountAddress failures,
//     that address may not try that account again until the window ends.
//
// Nothing is counted per account alone, so an attacker somewhere else
// cannot lock a customer out: the customer's own address has counts of its
// own. Counts are kept for whatever e-mail is typed, known or not, and a
// throttled login is refused before the password is checked, so neither
// the answers nor their timing tell which accounts exist.
//
// What an address can make the store keep is bounded, because the store
// never evicts and a full one would stop every login: checking writes
// nothing, a throttled address writes nothing, and a failure gets a
// per-account counter only while its address is within its limit. So an
// address leaves at most 1 + FailuresPerAddress keys per window, however
// many e-mails it sprays. An IPv6 client counts as its /64 (see
// params.ClientGroup).
const (
	ThrottleWindow            = 15 * time.Minute
	FailuresPerAccountAddress = 5
	FailuresPerAddress        = 50
)

// ErrThrottled reports too many failed logins; RetryAfter says for how long.
var ErrThrottled = errors.New("too many failed logins: please wait a few minutes and try again")

// Throttled is ErrThrottled with the time to wait.
type Throttled struct{ RetryAfter time.Duration }

func (t Throttled) Error() string { return ErrThrottled.Error() }
func (t Throttled) Unwrap() error { return ErrThrottled }

func (s *Service) throttleKeys(email, address string) (pair, addr string, left time.Duration) {
	now := s.now()
	window := now.Truncate(ThrottleWindow)
	left = window.Add(ThrottleWindow).Sub(now)
	// The e-mail as typed (normalized), hashed: no address book in the store.
	normal, err := NormalizeEmail(email)
	if err != nil {
		normal = email
	}
	sum := sha256.Sum256([]byte(normal))
	stamp := window.Unix()
	group := params.ClientGroup(address)
	return fmt.Sprintf("login-failures:%s:%s:%d", hex.EncodeToString(sum[:12]), group, stamp),
		fmt.Sprintf("login-failures:%s:%d", group, stamp), left
}

// checkThrottle returns a Throttled error when the address may not try
// the account now, the address's own count first. It writes nothing. A
// store that cannot say lets the login go on: the password is still
// checked, and sessions need the same store anyway.
func (s *Service) checkThrottle(ctx context.Context, email, address string) error {
	pair, addr, left := s.throttleKeys(email, address)
	if n, err := s.sessions.Peek(ctx, addr); err == nil && n >= FailuresPerAddress {
		return Throttled{RetryAfter: left}
	}
	if n, err := s.sessions.Peek(ctx, pair); err == nil && n >= FailuresPerAccountAddress {
		return Throttled{RetryAfter: left}
	}
	return nil
}

// countFailure counts a failed login of email from address: the address
// first, and the account only while the address is within its limit, so
// that concurrent failures cannot make more per-account keys than that.
func (s *Service) countFailure(ctx context.Context, email, address string) {
	pair, addr, _ := s.throttleKeys(email, address)
	n, err := s.sessions.Counter(ctx, addr, 1, ThrottleWindow)
	if err != nil || n > FailuresPerAddress {
		return
	}
	_, _ = s.sessions.Counter(ctx, pair, 1, ThrottleWindow)
}

// Login authenticates email and password from address, throttled: it
// returns a Throttled error without checking the password when address
// failed too often, and counts each failure.
func (s *Service) Login(ctx context.Context, email, password, address string) (User, error) {
	if err := s.checkThrottle(ctx, email, address); err != nil {
		return User{}, err
	}
	u, err := s.Authenticate(ctx, email, password)
	if errors.Is(err, ErrBadCredentials) {
		s.countFailure(ctx, email, address)
	}
	return u, err
}
