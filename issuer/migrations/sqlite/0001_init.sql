-- kenmerk issuer schema, SQLite flavour. Keep in step with postgres/0001_init.sql:
-- the same queries run against both, only column types differ.

CREATE TABLE issuer_keys (
    credential_type TEXT NOT NULL,
    counter INTEGER NOT NULL,
    key_id BLOB NOT NULL,
    public_key BLOB NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (credential_type, counter)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    credential_type TEXT NOT NULL,
    subject TEXT,
    attributes TEXT NOT NULL,
    holder_public_key BLOB NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    created_at INTEGER NOT NULL,
    refreshed_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX credentials_subject ON credentials (subject, credential_type, status);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    requestor_token TEXT NOT NULL UNIQUE,
    requestor TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON array: per credential its record id, type, key counter, attributes.
    credentials TEXT NOT NULL,
    subject TEXT,
    -- The encoded IssuanceOffer (values, token information, nonce, batch).
    offer BLOB NOT NULL,
    state TEXT NOT NULL,
    -- The record a refresh session renews while it is open, NULL otherwise:
    -- the unique index enforces at most one open session per credential record.
    open_credential TEXT UNIQUE,
    holder_public_key BLOB,
    commitment_digest BLOB,
    signer_commitments BLOB,
    secret_state BLOB,
    challenge_digest BLOB,
    responses BLOB,
    failure TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    credential_id TEXT,
    credential_type TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_credential ON audit_log (credential_id);
