-- Key material shared by every instance, sealed under the operator's
-- key-encryption key (never in plain text): the scheme signing key, the
-- session state key and every issuer secret key, by name.
CREATE TABLE key_material (
    name TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
-- The signed document of each recorded scheme version, so that every
-- instance serves the version another one signed.
CREATE TABLE scheme_documents (
    version BIGINT PRIMARY KEY REFERENCES scheme_versions (version),
    document BYTEA NOT NULL
);
