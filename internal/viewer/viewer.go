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
}

// LoggedIn reports whether v is a signed-in user.
func (v Viewer) LoggedIn() bool { return v.UserID != 0 }

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
