-- Signed-in sessions of the web interface. The cookie holds a random
-- secret; only its SHA-256 is kept here, so a copy of the database signs
-- nobody in. `credential` is what the session acts with: the SHA-256 of
-- the API key it was opened with (so revoking the key ends it), or for
-- the admin a digest of the admin token (so changing the token ends it).
-- Times are Unix milliseconds.
CREATE TABLE ui_sessions (
    id_hash    BYTEA   PRIMARY KEY,
    admin      BOOLEAN NOT NULL,
    credential BYTEA   NOT NULL,
    csrf       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
