//! Issuance and refresh: check the offer against the pinned scheme, ask
//! consent, run the blind issuance and keep the batch only if every token
//! passes its check.

use super::*;

/// Offered credentials checked against the pinned scheme, with their keys.
pub(crate) struct CheckedOffer {
    pub(crate) offer: IssuanceOffer,
    pub(crate) keys: Vec<IssuerPublicKey>,
}

pub(crate) fn check_offer(
    scheme: &VerifiedScheme,
    offer: IssuanceOffer,
    now: i64,
) -> Result<CheckedOffer, SessionError> {
    let keys = offer
        .credentials
        .iter()
        .map(|c| c.check(&offer.issuer, scheme, now_u64(now)).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckedOffer { offer, keys })
}

fn issuance_view(
    scheme: &Scheme,
    issuer: &IssuerId,
    target: &SessionTarget,
    offer: &IssuanceOffer,
    lang: Lang,
) -> IssuanceView {
    let l = lang.code();
    let host = target.host();
    IssuanceView {
        insecure: is_insecure(target.url(), &host),
        issuer: issuer.to_string(),
        issuer_name: scheme
            .issuer(issuer)
            .map(|i| i.name.get(l).to_owned())
            .unwrap_or_else(|| issuer.to_string()),
        host,
        credentials: offer
            .credentials
            .iter()
            .map(|c| {
                let ct = scheme.credential_type(&c.token_info.credential_type);
                OfferedView {
                    credential_type: c.token_info.credential_type.to_string(),
                    name: ct
                        .map(|ct| ct.name.get(l).to_owned())
                        .unwrap_or_else(|| c.token_info.credential_type.to_string()),
                    attributes: ct
                        .map(|ct| {
                            ct.attributes
                                .iter()
                                .zip(&c.attributes)
                                .map(|(a, v)| AttributeLine {
                                    id: a.id.to_string(),
                                    label: a.label.get(l).to_owned(),
                                    value: value_text(v),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    expiry: c.token_info.expiry,
                    batch: offer.batch,
                }
            })
            .collect(),
    }
}

/// Blind-sign the offered credentials: the commitment and challenge
/// round-trips shared by issuance and refresh. Returns the token batches in
/// offer order.
pub(crate) async fn blind_issue(
    client: &Client,
    holder: &HolderSecret,
    checked: &CheckedOffer,
    commitments: SignerCommitmentsMessage,
    challenges_url: &str,
    now: i64,
) -> Result<Vec<Vec<CredentialToken>>, SessionError> {
    let n = checked.offer.credentials.len();
    if commitments.commitments.len() != n {
        return Err(SessionError::Count {
            expected: n,
            found: commitments.commitments.len(),
        });
    }
    let mut pending = Vec::with_capacity(n);
    let mut challenges = Vec::with_capacity(n);
    for ((offered, key), signer) in checked
        .offer
        .credentials
        .iter()
        .zip(&checked.keys)
        .zip(&commitments.commitments)
    {
        let (p, c) = PendingIssuance::start(
            &mut OsRng,
            key,
            holder,
            offered.attributes.clone(),
            offered.token_info.clone(),
            now_u64(now),
            signer,
        )?;
        pending.push(p);
        challenges.push(c);
    }
    let responses: ResponsesMessage = client
        .post_wire(challenges_url, &ChallengesMessage::new(challenges))
        .await?;
    if responses.responses.len() != n {
        return Err(SessionError::Count {
            expected: n,
            found: responses.responses.len(),
        });
    }
    pending
        .into_iter()
        .zip(&responses.responses)
        .map(|(p, r)| p.finish(r).map_err(SessionError::from))
        .collect()
}

/// Put a received batch into the wallet: replaces the batch of the same
/// issuer record (a re-issue or refresh), else adds a credential.
pub(crate) fn store_batch(
    contents: &mut WalletContents,
    scheme: &Scheme,
    issuer_url: &str,
    record: &str,
    tokens: Vec<CredentialToken>,
    now: i64,
) -> Option<String> {
    let first = tokens.first()?;
    let ct_id = first.credential_type().clone();
    let attributes: Vec<StoredAttribute> = scheme
        .credential_type(&ct_id)
        .map(|ct| {
            ct.attributes
                .iter()
                .zip(first.attributes())
                .map(|(a, v)| StoredAttribute {
                    id: a.id.to_string(),
                    value: value_text(v),
                })
                .collect()
        })
        .unwrap_or_default();
    let key_counter = first.token().ti.key_counter;
    let expiry = i64::try_from(first.expiry()).unwrap_or(i64::MAX);
    let stored_tokens: Vec<StoredToken> = tokens
        .iter()
        .map(|t| StoredToken {
            token: SecretBytes::new(t.to_bytes().to_vec()),
            used: false,
        })
        .collect();
    if let Some(existing) = contents
        .credentials
        .iter_mut()
        .find(|c| c.record.as_deref() == Some(record) && c.credential_type == ct_id.as_str())
    {
        existing.attributes = attributes;
        existing.key_counter = key_counter;
        existing.expiry = expiry;
        existing.issued_at = now;
        existing.tokens = stored_tokens;
        existing.issuer_url = issuer_url.to_owned();
        return Some(existing.id.clone());
    }
    let id = contents.next_credential_id();
    contents.credentials.push(StoredCredential {
        id: id.clone(),
        credential_type: ct_id.to_string(),
        attributes,
        key_counter,
        issued_at: now,
        expiry,
        issuer_url: issuer_url.to_owned(),
        record: Some(record.to_owned()),
        tokens: stored_tokens,
    });
    Some(id)
}

pub(super) async fn issue(
    wallet: &mut OpenWallet,
    client: &Client,
    target: &SessionTarget,
    offer: IssuanceOffer,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<SessionOutcome, SessionError> {
    let scheme = scheme_store::scheme_for(&wallet.contents, offer.issuer.scheme().as_str(), now)?;
    let checked = check_offer(&scheme, offer, now)?;
    let host = target.host();
    let view = issuance_view(&scheme, &checked.offer.issuer, target, &checked.offer, lang);
    if !consent.issuance(&view, lang)? {
        return Ok(SessionOutcome::Declined);
    }
    let holder = holder(&wallet.contents);
    let proofs = checked
        .keys
        .iter()
        .map(|k| holder.prove_possession(&mut OsRng, &checked.offer.nonce.0, &k.key_id()))
        .collect();
    let commitment = HolderCommitment::new(holder.public(), proofs);
    let signer: SignerCommitmentsMessage = client
        .post_wire(&join(target.url(), paths::ISSUANCE_COMMITMENT), &commitment)
        .await?;
    let batches = blind_issue(
        client,
        &holder,
        &checked,
        signer,
        &join(target.url(), paths::ISSUANCE_CHALLENGES),
        now,
    )
    .await?;
    let issuer_url = issuer_base(target.url());
    let mut issued = Vec::new();
    let mut received = Vec::new();
    for ((offered, tokens), offered_view) in checked
        .offer
        .credentials
        .iter()
        .zip(batches)
        .zip(&view.credentials)
    {
        let count = tokens.len();
        if let Some(id) = store_batch(
            &mut wallet.contents,
            &scheme,
            &issuer_url,
            offered.record.as_str(),
            tokens,
            now,
        ) {
            issued.push(IssuedCredential {
                id,
                credential_type: offered_view.credential_type.clone(),
                name: offered_view.name.clone(),
                tokens: count,
            });
            received.extend(offered_view.attributes.iter().map(|a| LoggedAttribute {
                id: a.id.clone(),
                value: a.value.clone(),
            }));
        }
    }
    wallet.contents.log.append(LogEntry {
        at: now,
        kind: LogKind::Issuance,
        party: Some(checked.offer.issuer.to_string()),
        host: Some(host),
        attributes: received,
        predicates: Vec::new(),
        pseudonym_scope: None,
        message: None,
        outcome: Some("DONE".into()),
    });
    wallet.save()?;
    Ok(SessionOutcome::Issued {
        credentials: issued,
    })
}

// ---------------------------------------------------------------------------
// Refresh

/// How a refresh of one credential ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A new batch replaced the old one.
    Renewed {
        /// Tokens received.
        tokens: usize,
        /// Their expiry (unix seconds).
        expiry: i64,
    },
    /// The issuer refused: the credential is revoked or unknown to it.
    Refused {
        /// The issuer's explanation.
        detail: String,
    },
}

/// Renew the batch of credential `index` (into `contents.credentials`):
/// the issuer checks possession of the holder key for the record and
/// answers with the attributes as its register holds them now.
pub async fn refresh_credential(
    wallet: &mut OpenWallet,
    client: &Client,
    index: usize,
    now: i64,
) -> Result<RefreshOutcome, SessionError> {
    let Some(credential) = wallet.contents.credentials.get(index) else {
        return Err(SessionError::NoRecord(format!("#{index}")));
    };
    let record: RecordId = credential
        .record
        .as_deref()
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| SessionError::NoRecord(credential.id.clone()))?;
    let base = credential.issuer_url.clone();
    let ct = credential.credential_type.clone();
    let scheme_id = ct.split('.').next().unwrap_or("").to_owned();
    let scheme = scheme_store::scheme_for(&wallet.contents, &scheme_id, now)?;

    let start = client
        .post_wire_located::<_, IssuanceOffer>(
            &join(&base, paths::REFRESH),
            &RefreshRequest::new(record.clone()),
        )
        .await;
    let (offer, location) = match start {
        Ok(ok) => ok,
        // 403/404/410: revoked or unknown; the issuer answers them alike.
        Err(ClientError::Refused {
            status: 403 | 404 | 410,
            problem,
            ..
        }) => {
            wallet.contents.log.append(LogEntry {
                at: now,
                kind: LogKind::Refresh,
                party: Some(labels_issuer(&ct)),
                host: None,
                attributes: Vec::new(),
                predicates: Vec::new(),
                pseudonym_scope: None,
                message: None,
                outcome: Some("REFUSED".into()),
            });
            wallet.save()?;
            return Ok(RefreshOutcome::Refused {
                detail: problem.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let checked = check_offer(&scheme, offer, now)?;
    let session_url = match location {
        Some(l) if l.starts_with('/') => format!("{}{l}", origin(&base)),
        Some(l) => l,
        None => {
            return Err(SessionError::UnknownSession(join(&base, paths::REFRESH)));
        }
    };
    let (Some(offered), Some(key)) = (checked.offer.credentials.first(), checked.keys.first())
    else {
        return Err(SessionError::RefreshMismatch(ct));
    };
    // A refresh renews exactly the credential asked for: same record, same
    // type (an issuer cannot slip another credential in).
    if checked.offer.credentials.len() != 1
        || offered.record != record
        || offered.token_info.credential_type.as_str() != ct
    {
        return Err(SessionError::RefreshMismatch(ct));
    }
    let holder = holder(&wallet.contents);
    let proof = holder.prove_possession(&mut OsRng, &checked.offer.nonce.0, &key.key_id());
    let signer: SignerCommitmentsMessage = client
        .post_wire(
            &join(&session_url, paths::REFRESH_PROOF),
            &RefreshProof::new(record.clone(), proof),
        )
        .await?;
    let mut batches = blind_issue(
        client,
        &holder,
        &checked,
        signer,
        &join(&session_url, paths::ISSUANCE_CHALLENGES),
        now,
    )
    .await?;
    let tokens = batches.pop().unwrap_or_default();
    let count = tokens.len();
    let expiry = tokens
        .first()
        .map(|t| i64::try_from(t.expiry()).unwrap_or(i64::MAX))
        .unwrap_or(now);
    store_batch(
        &mut wallet.contents,
        &scheme,
        &base,
        record.as_str(),
        tokens,
        now,
    );
    wallet.contents.log.append(LogEntry {
        at: now,
        kind: LogKind::Refresh,
        party: Some(labels_issuer(&ct)),
        host: None,
        attributes: Vec::new(),
        predicates: Vec::new(),
        pseudonym_scope: None,
        message: None,
        outcome: Some("DONE".into()),
    });
    wallet.save()?;
    Ok(RefreshOutcome::Renewed {
        tokens: count,
        expiry,
    })
}

fn labels_issuer(credential_type: &str) -> String {
    crate::labels::issuer_id(credential_type)
}
