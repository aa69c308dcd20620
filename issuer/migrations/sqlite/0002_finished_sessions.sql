-- The sweep deletes finished sessions by the time they finished
-- (updated_at); without an index it would scan the whole table each time.
CREATE INDEX sessions_finished ON sessions (updated_at);
