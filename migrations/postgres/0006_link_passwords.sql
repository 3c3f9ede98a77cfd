-- Password-protected links: the argon2id hash (PHC string) of the link's
-- password; NULL for links without one. The password itself is never kept.
ALTER TABLE links ADD COLUMN password_hash TEXT;
