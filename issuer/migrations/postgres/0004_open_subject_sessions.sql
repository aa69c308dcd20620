-- At most one open issuance session per subject and credential type
-- (security.md §4), first issuance and refresh alike. A row whose session
-- is no longer open is stale and removed by the next claim of its key;
-- purging the session removes it too.
CREATE TABLE open_subject_sessions (
    subject TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    PRIMARY KEY (subject, credential_type)
);
CREATE INDEX open_subject_sessions_session ON open_subject_sessions (session_id);
