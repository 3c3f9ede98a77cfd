-- Finding links: tags, substring search and sorting by clicks, each read
-- from an index.

-- Every link's click total now lives in link_clicks, one row per link
-- (flushes, capped clicks and imports all add there), so "most clicked"
-- is an index walk. links.clicks keeps only what a link was created with.
-- `ranked` is the count the order uses: set to `clicks` when the analytics
-- rows are written (every 30 s), not at every one-second flush, so the
-- index moves far less often than the count.
ALTER TABLE link_clicks ADD COLUMN ranked BIGINT NOT NULL DEFAULT 0;

INSERT INTO link_clicks (link_id, clicks)
    SELECT id, clicks FROM links
    ON CONFLICT (link_id) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks;
UPDATE link_clicks SET ranked = clicks;

CREATE FUNCTION links_click_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_clicks (link_id, clicks, ranked) VALUES (NEW.id, NEW.clicks, NEW.clicks)
        ON CONFLICT (link_id) DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER links_click_row AFTER INSERT ON links
    FOR EACH ROW EXECUTE FUNCTION links_click_row();

CREATE INDEX link_clicks_ranked ON link_clicks (ranked, link_id);

-- Tags: a JSON array on the link for reading it, and one row per tag for
-- finding links by tag, newest first.
ALTER TABLE links ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE link_tags (
    tag     TEXT   NOT NULL,
    link_id BIGINT NOT NULL,
    PRIMARY KEY (tag, link_id)
);

-- Substring search over code and URL: trigram indexes (pg_trgm, a trusted
-- extension: the database owner may create it). Case-insensitive (ILIKE);
-- 3 characters at least.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX links_url_trgm ON links USING gin (url gin_trgm_ops);
CREATE INDEX links_code_trgm ON links USING gin (code gin_trgm_ops);
