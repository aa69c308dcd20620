-- kenmerk issuer schema, PostgreSQL flavour. Keep in step with sqlite/0001_init.sql:
-- the same queries run against both, only column types differ.

CREATE TABLE issuer_keys (
    credential_type TEXT NOT NULL,
    counter BIGINT NOT NULL,
    key_id BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (credential_type, counter)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    credential_type TEXT NOT NULL,
    subject TEXT,
    attributes TEXT NOT NULL,
    holder_public_key BYTEA NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    created_at BIGINT NOT NULL,
    refreshed_at BIGINT,
    updated_at BIGINT NOT NULL
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
    offer BYTEA NOT NULL,
    state TEXT NOT NULL,
    -- The record a refresh session renews while it is open, NULL otherwise:
    -- the unique index enforces at most one open session per credential record.
    open_credential TEXT UNIQUE,
    holder_public_key BYTEA,
    commitment_digest BYTEA,
    signer_commitments BYTEA,
    secret_state BYTEA,
    challenge_digest BYTEA,
    responses BYTEA,
    failure TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    credential_id TEXT,
    credential_type TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_credential ON audit_log (credential_id);
