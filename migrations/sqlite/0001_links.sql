-- Links, including tombstones of deleted and purged links so that a code is
-- never handed out twice. Times are Unix milliseconds.
CREATE TABLE links (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT    NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    max_clicks      INTEGER,
    clicks          INTEGER NOT NULL DEFAULT 0,
    redirect_status INTEGER NOT NULL,
    deleted_at      INTEGER
);

CREATE INDEX links_live_expiry ON links (expires_at)
    WHERE expires_at IS NOT NULL AND deleted_at IS NULL;

-- Counter blocks for generated codes.
CREATE TABLE counters (
    name TEXT    PRIMARY KEY,
    next INTEGER NOT NULL
);
INSERT INTO counters (name, next) VALUES ('links', 0);

-- Per-store settings, such as the key of the code bijection.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
