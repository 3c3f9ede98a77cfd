-- Users hold API keys, and own the links made with those keys. Times are
-- Unix milliseconds.
CREATE TABLE users (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- API keys: only the SHA-256 of each secret is kept, unique, so a request's
-- key is found by its hash. No foreign key to users: a deleted user's keys
-- stay, revoked, so a revoked key is still recognised as such.
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    name       TEXT,
    hash       BLOB    NOT NULL UNIQUE,
    scopes     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE INDEX api_keys_user ON api_keys (user_id);

-- The user whose key created a link; NULL for links made anonymously, with
-- the admin token or by the CLI. The index lists one owner's links newest
-- first.
ALTER TABLE links ADD COLUMN owner TEXT;

CREATE INDEX links_owner ON links (owner, id) WHERE owner IS NOT NULL;
