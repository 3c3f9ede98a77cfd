-- Finding links: tags, substring search and sorting by clicks, each read
-- from an index.

-- Every link's click total now lives in link_clicks, one row per link
-- (flushes, capped clicks and imports all add there), so "most clicked"
-- is an index walk. links.clicks keeps only what a link was created with.
-- `ranked` is the count the order uses: set to `clicks` when the analytics
-- rows are written (every 30 s), not at every one-second flush, so the
-- index moves far less often than the count.
ALTER TABLE link_clicks ADD COLUMN ranked INTEGER NOT NULL DEFAULT 0;

INSERT INTO link_clicks (link_id, clicks)
    SELECT id, clicks FROM links WHERE true
    ON CONFLICT (link_id) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks;
UPDATE link_clicks SET ranked = clicks;

CREATE TRIGGER links_click_row AFTER INSERT ON links BEGIN
    INSERT INTO link_clicks (link_id, clicks, ranked) VALUES (new.id, new.clicks, new.clicks)
        ON CONFLICT (link_id) DO NOTHING;
END;

-- With the rowid (link_id), this orders by (ranked, link_id).
CREATE INDEX link_clicks_ranked ON link_clicks (ranked);

-- Tags: a JSON array on the link for reading it, and one row per tag for
-- finding links by tag, newest first.
ALTER TABLE links ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE link_tags (
    tag     TEXT    NOT NULL,
    link_id INTEGER NOT NULL,
    PRIMARY KEY (tag, link_id)
) WITHOUT ROWID;

-- Substring search over code and URL: an FTS5 index of trigrams, kept in
-- step with links by triggers. Case-insensitive; 3 characters at least.
CREATE VIRTUAL TABLE links_search USING fts5(
    code, url, content = 'links', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO links_search (links_search) VALUES ('rebuild');

CREATE TRIGGER links_search_insert AFTER INSERT ON links BEGIN
    INSERT INTO links_search (rowid, code, url) VALUES (new.id, new.code, new.url);
END;

CREATE TRIGGER links_search_update AFTER UPDATE OF code, url ON links BEGIN
    INSERT INTO links_search (links_search, rowid, code, url)
        VALUES ('delete', old.id, old.code, old.url);
    INSERT INTO links_search (rowid, code, url) VALUES (new.id, new.code, new.url);
END;

CREATE TRIGGER links_search_delete AFTER DELETE ON links BEGIN
    INSERT INTO links_search (links_search, rowid, code, url)
        VALUES ('delete', old.id, old.code, old.url);
END;
