-- Click analytics as daily rollups: one row per link and UTC day (days
-- since 1970-01-01), and one per link, day, dimension and value (referrer
-- host, browser, OS, device, country). A flush upserts these; there is
-- never a row per click, an address, a raw user agent or a whole referrer.
CREATE TABLE click_days (
    link_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    human   INTEGER NOT NULL,
    bots    INTEGER NOT NULL,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;

-- For stats across links (an owner's or everyone's) and retention purges.
CREATE INDEX click_days_day ON click_days (day);

CREATE TABLE click_values (
    link_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    dim     INTEGER NOT NULL,
    value   TEXT    NOT NULL,
    clicks  INTEGER NOT NULL,
    PRIMARY KEY (link_id, day, dim, value)
) WITHOUT ROWID;

CREATE INDEX click_values_day ON click_values (day);

-- Requests for codes no link has, per day: scans show here.
CREATE TABLE unknown_days (
    day      INTEGER PRIMARY KEY,
    requests INTEGER NOT NULL
);
