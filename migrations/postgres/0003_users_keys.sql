-- Users hold API keys, and own the links made with those keys. Times are
-- Unix milliseconds, as in the SQLite schema. "C" collation: users are
-- listed in id order, byte for byte, as on SQLite.
CREATE TABLE users (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT   NOT NULL,
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- API keys: only the SHA-256 of each secret is kept, unique, so a request's
-- key is found by its hash. No foreign key to users: a deleted user's keys
-- stay, revoked, so a revoked key is still recognised as such.
CREATE TABLE api_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    name       TEXT,
    hash       BYTEA   NOT NULL UNIQUE,
    scopes     INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX api_keys_user ON api_keys (user_id);

-- The user whose key created a link; NULL for links made anonymously, with
-- the admin token or by the CLI. The index lists one owner's links newest
-- first.
ALTER TABLE links ADD COLUMN owner TEXT;

CREATE INDEX links_owner ON links (owner, id) WHERE owner IS NOT NULL;
