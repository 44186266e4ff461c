-- name: DatabaseIdentity :one
-- The cache namespace of this database: the id its migration made and the
-- database's oid, which a copy made inside the server does not share
-- (see db/migrations/00007_identity.sql).
SELECT (i.id::text || '-' || d.oid::text)::text AS identity
FROM shop_identity i, pg_catalog.pg_database d
WHERE d.datname = current_database();
