-- Click flushes already written, by batch id. A flush that fails after its
-- transaction may have committed (a timeout) is retried with the same id;
-- finding the id here means it was written, so its clicks are not added a
-- second time. Ids are dropped a day after they were written.
CREATE TABLE click_batches (
    id         INTEGER PRIMARY KEY,
    written_at INTEGER NOT NULL
);
