-- Sessions move to the cache's "sessions" alias (Redis, or memory of its
-- own), as the seed's SESSION_ENGINE = cache: a login costs no SQL.

-- +goose Up
DROP TABLE sessions;

-- +goose Down
CREATE TABLE sessions (
    token_hash  bytea       PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
