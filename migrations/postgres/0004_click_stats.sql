-- Click analytics as daily rollups: one row per link and UTC day (days
-- since 1970-01-01), and one per link, day, dimension and value (referrer
-- host, browser, OS, device, country). A flush upserts these; there is
-- never a row per click, an address, a raw user agent or a whole referrer.
CREATE TABLE click_days (
    link_id BIGINT  NOT NULL,
    day     INTEGER NOT NULL,
    human   BIGINT  NOT NULL,
    bots    BIGINT  NOT NULL,
    PRIMARY KEY (link_id, day)
);

-- For stats across links (an owner's or everyone's) and retention purges.
CREATE INDEX click_days_day ON click_days (day);

CREATE TABLE click_values (
    link_id BIGINT   NOT NULL,
    day     INTEGER  NOT NULL,
    dim     SMALLINT NOT NULL,
    value   TEXT     NOT NULL,
    clicks  BIGINT   NOT NULL,
    PRIMARY KEY (link_id, day, dim, value)
);

CREATE INDEX click_values_day ON click_values (day);

-- Requests for codes no link has, per day: scans show here.
CREATE TABLE unknown_days (
    day      INTEGER PRIMARY KEY,
    requests BIGINT  NOT NULL
);
