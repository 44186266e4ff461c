// Package accounts owns the shop's users: registration, passwords, login,
// logout and the sessions that remember who is logged in. Its middleware
// puts the current user into each request's context as a viewer.Viewer, so
// that the other domains know who is asking without importing accounts.
//
// Its caching follows the shop's one rule (see package cache, "Where a
// domain caches"): the user a request reads is cached where the service
// makes it from the row (Service.User), since the row holds the password
// hash, which no cache may keep. Sessions are not cache data: they live in
// the sessions alias as the only copy.
//
// It knows nothing about products, carts or orders.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"golang.org/x/crypto/bcrypt"
)

// Store is what accounts needs from the database.
type Store interface {
	CreateUser(ctx context.Context, arg db.CreateUserParams) (db.User, error)
	GetUserByEmail(ctx context.Context, email string) (db.User, error)
	GetUser(ctx context.Context, id int64) (db.User, error)
}

var _ Store = (*db.Queries)(nil)

// A User is a customer or an admin of the shop.
type User struct {
	ID         int64
	Email      string
	Name       string
	Admin      bool
	DateJoined time.Time
}

func userFromDB(u db.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.IsAdmin, DateJoined: u.DateJoined}
}

// Errors the service returns.
var (
	// ErrBadCredentials is the one answer to a wrong e-mail or a wrong
	// password: telling them apart would tell who has an account.
	ErrBadCredentials = errors.New("wrong e-mail or password")
	ErrEmailTaken     = errors.New("an account with this e-mail already exists")
	ErrNotFound       = errors.New("user not found")
)

// Password length limits: at least 8 characters (ASVS 6.2.1), and at most
// 72 bytes, all that bcrypt reads.
const (
	MinPasswordLen   = 8
	MaxPasswordBytes = 72
)

// Syncer waits until the invalidations of the writes committed so far
// are applied (changes.Listener).
type Syncer interface {
	Sync(ctx context.Context) error
}

// Options configure the accounts service.
type Options struct {
	// BcryptCost is the work factor of new password hashes
	// (bcrypt.DefaultCost in production; tests use bcrypt.MinCost).
	BcryptCost int
	Timeouts   SessionTimeouts
	// Sessions is the cache alias that keeps sessions; Cache keeps users
	// (per user, invalidated by Rules).
	Sessions, Cache *cache.Alias
	// Changes applies the invalidations of the service's writes (nil:
	// none).
	Changes Syncer
	// Logger gets what the service notices but its callers do not see,
	// such as a session store that cannot be read (nil: discarded).
	Logger *slog.Logger
}

// Service is the accounts domain. It is safe for concurrent use.
type Service struct {
	store      Store
	cost       int
	dummyHash  []byte // compared against when an e-mail is unknown, so both paths take as long
	sessionTTL SessionTimeouts
	sessions   *cache.Alias
	cache      *cache.Alias
	changes    Syncer
	logger     *slog.Logger
	now        func() time.Time
	ends       *endings // sessions logged out while their store was down
}

// NewService returns the accounts service.
func NewService(store Store, o Options) (*Service, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("no account has this password"), o.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	if o.Sessions == nil || o.Cache == nil {
		return nil, errors.New("accounts: the sessions and cache aliases are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeouts.Idle <= 0 {
		o.Timeouts.Idle = o.Sessions.TTL() // CACHE_SESSIONS_TTL
	}
	return &Service{
		store: store, cost: o.BcryptCost, dummyHash: dummy, sessionTTL: o.Timeouts.withDefaults(),
		sessions: o.Sessions, cache: o.Cache, changes: o.Changes, logger: o.Logger, now: time.Now,
		ends: newEndings(),
	}, nil
}

// Close stops retrying the logouts that the sessions store could not take
// (see MaxPendingLogouts), after one last try. Call it before closing the
// caches; the service must not be used afterwards.
func (s *Service) Close() { s.ends.close(s.deleteSessions) }

// UserTag is the tag of one user's account: what a page built for that
// user depends on besides its own reads.
func UserTag(id int64) string { return fmt.Sprintf("user:%d", id) }

// User returns the user with this id, or ErrNotFound. Cached per user (it
// is read on every request of a logged-in user) until the user changes.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	u, err := cache.Remember(ctx, s.cache, cache.EntityKey("user", id), cache.Opts{Layer: cache.LayerQuery, Tags: readUser.Tags(changes.On("users", UserTag(id)))},
		func(ctx context.Context) (User, error) {
			u, err := s.store.GetUser(ctx, id)
			if err != nil {
				return User{}, err
			}
			return userFromDB(u), nil
		})
	if db.IsNotFound(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// Rules are what a change of a user's row makes out of date.
func Rules() []changes.Rule {
	return []changes.Rule{{Table: "users", Name: "accounts: the cached user, and the pages built for them",
		Tags: func(c changes.Change) []string {
			var t []string
			for _, id := range c.Ints("id") {
				t = append(t, UserTag(id))
			}
			return t
		}}}
}

var readUser = changes.Declare(changes.Read{Queries: []string{"GetUser"}, Tables: []string{"users"}})

// HashPassword returns the bcrypt hash of password at the given cost. The
// seed uses it too, so that seeded users log in like everyone else.
func HashPassword(password string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Registration is what a new customer types in.
type Registration struct {
	Email, Name, Password string
}

// Problems returns what is wrong with r, by field; none means it is valid.
func (r Registration) Problems() map[string]string {
	p := map[string]string{}
	if _, err := NormalizeEmail(r.Email); err != nil {
		p["email"] = err.Error()
	}
	name := strings.TrimSpace(r.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		p["name"] = "Give a name of 1 to 100 characters."
	}
	switch {
	case utf8.RuneCountInString(r.Password) < MinPasswordLen:
		p["password"] = fmt.Sprintf("Use at least %d characters.", MinPasswordLen)
	case len(r.Password) > MaxPasswordBytes:
		p["password"] = fmt.Sprintf("Use at most %d bytes.", MaxPasswordBytes)
	}
	return p
}

// NormalizeEmail returns the lower-cased address in s, or an error when s
// is not a plain e-mail address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s, "@") {
		return "", errors.New("Give an e-mail address like name@example.com.")
	}
	return s, nil
}

// Register creates a customer account. It returns ErrEmailTaken when the
// address is in use, and an error listing problems when r is not valid.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	if p := r.Problems(); len(p) > 0 {
		return User{}, fmt.Errorf("register: invalid registration (%d problems)", len(p))
	}
	email, _ := NormalizeEmail(r.Email)
	hash, err := HashPassword(r.Password, s.cost)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.CreateUser(ctx, db.CreateUserParams{
		Email: email, PasswordHash: hash, Name: strings.TrimSpace(r.Name),
	})
	if _, ok := db.IsUniqueViolation(err); ok {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if s.changes != nil {
		_ = s.changes.Sync(ctx)
	}
	return userFromDB(u), nil
}

// Authenticate returns the user with this e-mail and password, or
// ErrBadCredentials. It takes about as long for an unknown e-mail as for a
// wrong password.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil || len(password) > MaxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return User{}, ErrBadCredentials
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if db.IsNotFound(err) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return User{}, ErrBadCredentials
	}
	return userFromDB(u), nil
}

// UserByEmail returns the user with this e-mail address, or ErrNotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, ErrNotFound
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if db.IsNotFound(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	return userFromDB(u), nil
}
