-- Clicks flushed from the in-memory buffer. A narrow table keyed by link id
-- keeps each flush to a few pages per thousand links, where updating the
-- wide links rows dirtied a page per link. A link's total is
-- links.clicks (capped links, imports) plus link_clicks.clicks.
CREATE TABLE link_clicks (
    link_id INTEGER PRIMARY KEY,
    clicks  INTEGER NOT NULL
);
