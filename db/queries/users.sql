-- name: CreateUser :one
INSERT INTO users (email, password_hash, name, is_admin)
VALUES (@email, @password_hash, @name, @is_admin)
RETURNING *;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;
