-- Every scheme version this issuer (any instance) ever published, with a
-- digest of its signed document: a version number is never signed twice
-- with other content, and never reused after scheme.cbor is lost.
CREATE TABLE scheme_versions (
    version BIGINT PRIMARY KEY,
    digest BLOB NOT NULL,
    published_at BIGINT NOT NULL
);
