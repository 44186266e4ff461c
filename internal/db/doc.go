// Package db is the shop's access to PostgreSQL: the connection pool, the
// migrations runner, a transaction helper, the tracer that counts each
// request's SQL statements, and the sqlc-generated queries (the files ending
// in .sql.go, plus models.go and queries.go; never edit those by hand: change
// db/queries and run `make generate`).
//
// It knows which SQL the shop runs, not why: the domain packages decide.
package db
