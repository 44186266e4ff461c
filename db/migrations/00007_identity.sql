-- The database's identity: what the cache namespace is made of.
--
-- Every cache key and tag generation lives under it (see db.Identity and
-- cache.Config.ForDatabase), so that two databases served through one
-- cache never read each other's entries: a second shop on the same Redis,
-- a database dropped and made again under the same name (a new row, made
-- by this migration), a copy made with CREATE DATABASE ... TEMPLATE or a
-- dump restored beside its original (the row comes along, but the copy is
-- another database of the server, with an oid of its own, which the
-- identity also holds).
--
-- A copy that keeps the oid as well (a replica, a restored base backup, a
-- dump restored into another server whose database happens to get the same
-- oid) is the same database to the cache. One that is to run beside its
-- original on the same cache takes an identity of its own with
--   UPDATE shop_identity SET id = gen_random_uuid();
-- before its shop starts.

-- +goose Up
CREATE TABLE shop_identity (
    -- One row: the key is always true.
    one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shop_identity DEFAULT VALUES;

-- +goose Down
DROP TABLE shop_identity;
