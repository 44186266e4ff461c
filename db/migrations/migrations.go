// Package migrations embeds the shop's goose migrations, so the one binary
// can migrate any database it is pointed at. sqlc reads the same files as the
// schema it generates code from.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
