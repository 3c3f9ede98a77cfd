-- Links, including tombstones of deleted and purged links so that a code is
-- never handed out twice. Times are Unix milliseconds, as in the SQLite
-- schema, so both backends share one row shape.
CREATE TABLE links (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- "C" collation: codes compare byte for byte (they are case-sensitive
    -- ASCII), and the unique index avoids locale-aware comparisons.
    code            TEXT COLLATE "C" NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT,
    max_clicks      BIGINT,
    clicks          BIGINT  NOT NULL DEFAULT 0,
    redirect_status INTEGER NOT NULL,
    deleted_at      BIGINT
);

CREATE INDEX links_live_expiry ON links (expires_at)
    WHERE expires_at IS NOT NULL AND deleted_at IS NULL;

-- Clicks flushed from each instance's in-memory buffer. A link's total is
-- links.clicks (capped links, imports) plus link_clicks.clicks.
CREATE TABLE link_clicks (
    link_id BIGINT PRIMARY KEY,
    clicks  BIGINT NOT NULL
);

-- The counter behind generated codes. `next` is the store's own counter;
-- `redis_high` is the highest value Redis has handed out (recorded before
-- any of it is used), so that either source can always move past the other.
CREATE TABLE counters (
    name       TEXT   PRIMARY KEY,
    next       BIGINT NOT NULL,
    redis_high BIGINT NOT NULL DEFAULT 0
);
INSERT INTO counters (name, next) VALUES ('links', 0);

-- Per-store settings, such as the key of the code bijection.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
