-- /readyz writes here: a store that still answers reads but cannot
-- write (full disk, read-only) is not ready. `probe` is written and
-- cleared in one transaction; it is NULL at rest.
CREATE TABLE store_health (
    id INTEGER PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    probe BYTEA
);
