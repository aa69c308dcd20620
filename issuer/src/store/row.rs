//! The one conversion from a stored session row to a [`Session`].
//!
//! Each state has a fixed shape of filled columns; a row of any other shape
//! (a hand-edited database, a bug in an older version, a half-applied
//! change) is [`StoreError::Corrupt`], so a handler never meets a
//! "committed" session without nonces or an "answered" one without answer.
//!
//! | state | holder key | commitment | sealed nonces | answer | failure |
//! |---|---|---|---|---|---|
//! | `initialized`, `connected` | refresh only | – | – | – | – |
//! | `committed` | yes | yes | yes | – | – |
//! | `done` | yes | yes | – | yes | – |
//! | `cancelled`, `timeout` | any | any | – | – | – |
//! | `failed` | any | any | – | – | yes |
//!
//! An answer is wallet-core's [`AnsweredBatch`] in `responses` with
//! `challenge_digest` empty; rows answered before that (a digest and the
//! responses message) load as [`StoredAnswer::Digest`].

use wallet_core::issuance::batch::AnsweredBatch;

use super::{corrupt, decode_credentials, SessionRow, StoreError};
use crate::session::{
    Answered, CommitmentRecord, Committed, End, Ended, Open, Session, SessionKind, State,
    StoredAnswer,
};

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        let SessionRow {
            id,
            requestor_token,
            requestor,
            kind,
            credentials,
            subject,
            offer,
            state,
            holder_public_key,
            commitment_digest,
            signer_commitments,
            secret_state,
            challenge_digest,
            responses,
            failure,
            created_at,
            updated_at,
            expires_at,
        } = row;
        let bad = |what: &str| corrupt("sessions", format!("session {id}: {state} {what}"));
        let kind = SessionKind::parse(&kind)?;
        let credentials = decode_credentials(&credentials)?;
        match (kind, credentials.len()) {
            (_, 0) => return Err(bad("session without credentials")),
            (SessionKind::Refresh, n) if n != 1 => {
                return Err(bad("refresh session for more than one record"))
            }
            _ => {}
        }
        let commitment = match (commitment_digest, signer_commitments) {
            (Some(digest), Some(signer)) => Some(CommitmentRecord::new(digest, signer)),
            (None, None) => None,
            _ => return Err(bad("with half a commitment")),
        };
        let state = match state.as_str() {
            "initialized" | "connected" => {
                if commitment.is_some()
                    || secret_state.is_some()
                    || challenge_digest.is_some()
                    || responses.is_some()
                    || failure.is_some()
                {
                    return Err(bad("with data of a later state"));
                }
                // A refresh proves the record's holder key; a first
                // issuance learns the key only at the commitment.
                match (kind, &holder_public_key) {
                    (SessionKind::Refresh, None) => return Err(bad("refresh without holder key")),
                    (SessionKind::Issue, Some(_)) => return Err(bad("with a holder key")),
                    _ => {}
                }
                State::Open(Open {
                    connected: state == "connected",
                    record_holder: holder_public_key,
                })
            }
            "committed" => {
                let (Some(holder), Some(commitment), Some(sealed)) =
                    (holder_public_key, commitment, secret_state)
                else {
                    return Err(bad("without holder key, commitment or nonces"));
                };
                if challenge_digest.is_some() || responses.is_some() || failure.is_some() {
                    return Err(bad("with an answer or failure"));
                }
                State::Committed(Committed {
                    holder_public_key: holder,
                    commitment,
                    sealed_nonces: sealed,
                })
            }
            "done" => {
                // Rule 3: an answered session holds no nonces.
                if secret_state.is_some() {
                    return Err(bad("still holding nonces"));
                }
                let (Some(holder), Some(commitment), Some(responses)) =
                    (holder_public_key, commitment, responses)
                else {
                    return Err(bad("without holder key, commitment or answer"));
                };
                if failure.is_some() {
                    return Err(bad("with a failure"));
                }
                let answer = match challenge_digest {
                    None => StoredAnswer::Batch(
                        AnsweredBatch::from_bytes(&responses)
                            .map_err(|e| bad(&format!("answer: {e}")))?,
                    ),
                    Some(challenge_digest) => StoredAnswer::Digest {
                        challenge_digest,
                        responses,
                    },
                };
                State::Answered(Answered {
                    holder_public_key: holder,
                    commitment,
                    answer,
                })
            }
            "cancelled" | "timeout" | "failed" => {
                if secret_state.is_some() {
                    return Err(bad("still holding nonces"));
                }
                if challenge_digest.is_some() || responses.is_some() {
                    return Err(bad("with an answer"));
                }
                let end = match (state.as_str(), failure) {
                    ("cancelled", None) => End::Cancelled,
                    ("timeout", None) => End::TimedOut,
                    ("failed", Some(reason)) => End::Failed(reason),
                    ("failed", None) => return Err(bad("without a reason")),
                    _ => return Err(bad("with a failure reason")),
                };
                State::Ended(Ended { end })
            }
            other => {
                return Err(corrupt(
                    "sessions",
                    format!("session {id}: unknown state {other:?}"),
                ))
            }
        };
        Ok(Session {
            id,
            requestor_token,
            requestor,
            kind,
            credentials,
            subject,
            offer,
            created_at,
            updated_at,
            expires_at,
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::session::SessionCredential;
    use crate::store::encode_credentials;

    fn credentials(n: usize) -> String {
        encode_credentials(
            &(0..n)
                .map(|i| SessionCredential {
                    record_id: format!("r{i}"),
                    credential_type: "demo.utrecht.address".to_owned(),
                    key_counter: 1,
                    attributes: "{}".to_owned(),
                })
                .collect::<Vec<_>>(),
        )
    }

    /// An initialized first-issuance row.
    fn row(state: &str) -> SessionRow {
        SessionRow {
            id: "s1".to_owned(),
            requestor_token: "t1".to_owned(),
            requestor: "office".to_owned(),
            kind: "issue".to_owned(),
            credentials: credentials(2),
            subject: None,
            offer: vec![1, 2, 3],
            state: state.to_owned(),
            holder_public_key: None,
            commitment_digest: None,
            signer_commitments: None,
            secret_state: None,
            challenge_digest: None,
            responses: None,
            failure: None,
            created_at: 1,
            updated_at: 2,
            expires_at: 3,
        }
    }

    fn committed_row() -> SessionRow {
        SessionRow {
            holder_public_key: Some(b"hd".to_vec()),
            commitment_digest: Some(b"cd".to_vec()),
            signer_commitments: Some(b"signer".to_vec()),
            secret_state: Some(Zeroizing::new(b"sealed-w".to_vec())),
            ..row("committed")
        }
    }

    fn answered_row() -> SessionRow {
        SessionRow {
            state: "done".to_owned(),
            secret_state: None,
            responses: Some(crate::session::tests::answered_batch().to_bytes()),
            ..committed_row()
        }
    }

    fn load(row: SessionRow) -> Result<Session, StoreError> {
        Session::try_from(row)
    }

    fn corrupt_row(row: SessionRow) {
        match load(row.clone()) {
            Err(StoreError::Corrupt { table, .. }) => assert_eq!(table, "sessions"),
            other => panic!("{row:?} loaded as {other:?}"),
        }
    }

    #[test]
    fn each_row_shape_loads_as_its_state() {
        let s = load(row("initialized")).unwrap();
        assert!(
            matches!(&s.state, State::Open(o) if !o.connected() && o.record_holder().is_none())
        );
        assert_eq!(s.credentials.len(), 2);
        assert_eq!((s.created_at, s.updated_at, s.expires_at), (1, 2, 3));

        let s = load(row("connected")).unwrap();
        assert!(matches!(&s.state, State::Open(o) if o.connected()));

        let refresh = SessionRow {
            kind: "refresh".to_owned(),
            credentials: credentials(1),
            holder_public_key: Some(b"record-hd".to_vec()),
            ..row("connected")
        };
        let s = load(refresh).unwrap();
        assert_eq!(s.kind, SessionKind::Refresh);
        assert!(
            matches!(&s.state, State::Open(o) if o.record_holder() == Some(b"record-hd".as_slice()))
        );

        let s = load(committed_row()).unwrap();
        let State::Committed(c) = &s.state else {
            panic!("{s:?}")
        };
        assert_eq!(c.holder_public_key(), b"hd");
        assert_eq!(c.commitment().replay(b"cd"), Some(b"signer".as_slice()));
        assert_eq!(c.commitment().replay(b"other"), None);

        let s = load(answered_row()).unwrap();
        let State::Answered(a) = &s.state else {
            panic!("{s:?}")
        };
        assert!(matches!(a.answer(), StoredAnswer::Batch(_)));
        assert_eq!(a.commitment().replay(b"cd"), Some(b"signer".as_slice()));

        // Answered by an earlier version: digest and responses message.
        let legacy = SessionRow {
            challenge_digest: Some(b"chd".to_vec()),
            responses: Some(b"responses".to_vec()),
            ..answered_row()
        };
        let s = load(legacy).unwrap();
        let State::Answered(a) = &s.state else {
            panic!("{s:?}")
        };
        assert_eq!(a.replay(&[], b"chd"), Some(b"responses".to_vec()));
        assert_eq!(a.replay(&[], b"other"), None);

        for (state, failure, end) in [
            ("cancelled", None, End::Cancelled),
            ("timeout", None, End::TimedOut),
            (
                "failed",
                Some("bad proof"),
                End::Failed("bad proof".to_owned()),
            ),
        ] {
            // Ended before or after the commitment: both fit.
            for base in [
                row(state),
                SessionRow {
                    secret_state: None,
                    state: state.to_owned(),
                    ..committed_row()
                },
            ] {
                let s = load(SessionRow {
                    failure: failure.map(str::to_owned),
                    ..base
                })
                .unwrap();
                assert!(
                    matches!(&s.state, State::Ended(e) if *e.end() == end),
                    "{state}"
                );
            }
        }
    }

    #[test]
    fn rows_that_fit_no_state_are_store_errors() {
        // Unknown names.
        corrupt_row(row("answered"));
        corrupt_row(SessionRow {
            kind: "renew".to_owned(),
            ..row("initialized")
        });
        corrupt_row(SessionRow {
            credentials: "not json".to_owned(),
            ..row("initialized")
        });
        corrupt_row(SessionRow {
            credentials: credentials(0),
            ..row("initialized")
        });
        // A refresh of two records, or without the record's holder key.
        corrupt_row(SessionRow {
            kind: "refresh".to_owned(),
            holder_public_key: Some(b"hd".to_vec()),
            ..row("initialized")
        });
        corrupt_row(SessionRow {
            kind: "refresh".to_owned(),
            credentials: credentials(1),
            ..row("connected")
        });
        // Open with data of later states.
        corrupt_row(SessionRow {
            holder_public_key: Some(b"hd".to_vec()),
            ..row("initialized")
        });
        corrupt_row(SessionRow {
            secret_state: Some(Zeroizing::new(vec![1])),
            ..row("connected")
        });
        corrupt_row(SessionRow {
            state: "connected".to_owned(),
            ..committed_row()
        });
        // Committed without nonces, holder key or commitment, or half a commitment.
        corrupt_row(SessionRow {
            secret_state: None,
            ..committed_row()
        });
        corrupt_row(SessionRow {
            holder_public_key: None,
            ..committed_row()
        });
        corrupt_row(SessionRow {
            signer_commitments: None,
            ..committed_row()
        });
        corrupt_row(SessionRow {
            commitment_digest: None,
            signer_commitments: None,
            ..committed_row()
        });
        corrupt_row(SessionRow {
            responses: Some(vec![1]),
            ..committed_row()
        });
        // Answered still holding nonces (rule 3), without answer, or with
        // an answer that is not wallet-core's answered batch.
        corrupt_row(SessionRow {
            secret_state: Some(Zeroizing::new(vec![1])),
            ..answered_row()
        });
        corrupt_row(SessionRow {
            responses: None,
            ..answered_row()
        });
        corrupt_row(SessionRow {
            responses: Some(vec![0xa0]),
            ..answered_row()
        });
        corrupt_row(SessionRow {
            failure: Some("x".to_owned()),
            ..answered_row()
        });
        // Ended holding nonces or an answer; failed without reason; a
        // reason on a cancelled session.
        corrupt_row(SessionRow {
            state: "cancelled".to_owned(),
            ..committed_row()
        });
        corrupt_row(SessionRow {
            state: "timeout".to_owned(),
            secret_state: None,
            ..answered_row()
        });
        corrupt_row(row("failed"));
        corrupt_row(SessionRow {
            failure: Some("x".to_owned()),
            ..row("cancelled")
        });
    }
}
