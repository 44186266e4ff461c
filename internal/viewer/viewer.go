// Package viewer carries who a request is for, from the session middleware
// (internal/accounts) to every domain that needs to know, without the
// domains importing accounts or each other.
//
// The zero Viewer is an anonymous visitor. Anything derived from a Viewer
// that is not anonymous is per-user data: it never goes into a shared cache
// entry.
package viewer

import "context"

// A Viewer is the person a request is for.
type Viewer struct {
	UserID int64 // 0 for an anonymous visitor
	Name   string
	Email  string
	Admin  bool
	// GuestCart is the cart of a visitor without an account who has put
	// something in it (0: none). A guest is not logged in, but has a
	// session: their pages are personal.
	GuestCart int64
}

// LoggedIn reports whether v is a signed-in user.
func (v Viewer) LoggedIn() bool { return v.UserID != 0 }

// Guest reports whether v is a visitor without an account who has a cart.
func (v Viewer) Guest() bool { return v.UserID == 0 && v.GuestCart != 0 }

// Personal reports whether v has a session (logged in or a guest with a
// cart): what v sees then is theirs, never a shared page.
func (v Viewer) Personal() bool { return v.UserID != 0 || v.GuestCart != 0 }

type key struct{}

// With returns a context that carries v.
func With(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, key{}, v)
}

// From returns the Viewer of ctx: anonymous when none was set.
func From(ctx context.Context) Viewer {
	v, _ := ctx.Value(key{}).(Viewer)
	return v
}
