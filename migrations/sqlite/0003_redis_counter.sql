-- The highest counter value Redis has handed out, recorded before any of it
-- is used, so that the store's own counter can always move past it (and
-- Redis past the store's) when one of them falls back to the other.
ALTER TABLE counters ADD COLUMN redis_high INTEGER NOT NULL DEFAULT 0;
