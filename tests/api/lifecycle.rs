//! Process-level tests; filled in by a later commit.
