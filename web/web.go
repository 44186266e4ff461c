// Package web embeds the shop's HTML templates and static files, so that
// the one binary carries its whole user interface. internal/web parses and
// serves them.
package web

import "embed"

// FS holds templates/ (layout.html, partials/, pages/) and static/.
//
//go:embed templates static
var FS embed.FS
