//! Disclosure and signing: the candidates for the request, the consent
//! screen, the presentation, and the verifier's answer.

use super::*;

pub(super) struct Asked {
    pub(super) kind: SessionKind,
    pub(super) verifier: VerifierId,
    pub(super) request: SessionRequest,
    pub(super) context: ChallengeContext,
}

/// A token the wallet can show now: which credential, which token.
struct Usable {
    credential: usize,
    token_index: usize,
    token: CredentialToken,
}

/// The first unused token of each credential that decodes, has not expired
/// and whose key the scheme still accepts.
fn usable_tokens(contents: &WalletContents, scheme: &VerifiedScheme, now: i64) -> Vec<Usable> {
    let mut out = Vec::new();
    for (ci, c) in contents.credentials.iter().enumerate() {
        let found = c.tokens.iter().enumerate().find_map(|(ti, t)| {
            if t.used {
                return None;
            }
            let token = CredentialToken::from_bytes(t.token.as_slice()).ok()?;
            if i64::try_from(token.expiry()).unwrap_or(i64::MAX) <= now {
                return None;
            }
            scheme.valid_key(&token.token().key_id, now_u64(now)).ok()?;
            Some((ti, token))
        });
        if let Some((token_index, token)) = found {
            out.push(Usable {
                credential: ci,
                token_index,
                token,
            });
        }
    }
    out
}

/// A predicate in the resident's words.
pub fn predicate_words(predicate: &Predicate, attribute_label: &str, lang: Lang) -> String {
    match predicate {
        Predicate::AgeAtLeast { years, on } => tr(
            lang,
            Key::PredicateAge,
            &[
                ("years", years),
                ("on", &wallet_core::encoding::iso_date::format(*on)),
            ],
        ),
        Predicate::GreaterOrEqual(v) => tr(
            lang,
            Key::PredicateAtLeast,
            &[("attribute", &attribute_label), ("value", v)],
        ),
        Predicate::LessOrEqual(v) => tr(
            lang,
            Key::PredicateAtMost,
            &[("attribute", &attribute_label), ("value", v)],
        ),
    }
}

fn unregistered_words(u: &Unregistered, scheme: &Scheme, lang: Lang) -> String {
    match u {
        Unregistered::Attribute(a) => attribute_label(scheme, a, lang),
        Unregistered::Predicate {
            attribute,
            operator,
        } => format!("{} ({operator})", attribute_label(scheme, attribute, lang)),
        Unregistered::Pseudonym => t(lang, Key::WordPseudonym).to_owned(),
    }
}

fn disclosure_view(
    asked: &Asked,
    scheme: &Scheme,
    host: Option<&str>,
    candidates: &Candidates,
    lang: Lang,
) -> DisclosureView {
    let l = lang.code();
    let registered = scheme.verifier(&asked.verifier);
    let name = registered.map(|v| v.name.get(l).to_owned());
    let disjunctions = candidates
        .disjunctions
        .iter()
        .map(|d| DisjunctionView {
            label: d.label.as_ref().map(|t| t.get(l).to_owned()),
            options: d
                .options
                .iter()
                .map(|o| OptionView {
                    attributes: o
                        .attributes
                        .iter()
                        .map(|a| AttributeLine {
                            id: a.attribute.to_string(),
                            label: attribute_label(scheme, &a.attribute, lang),
                            value: value_text(&a.value),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let predicates = candidates
        .predicates
        .iter()
        .map(|p| {
            predicate_words(
                &p.predicate,
                &attribute_label(scheme, &p.request.attribute, lang),
                lang,
            )
        })
        .collect();
    let pseudonym = asked.request.pseudonym().map(|scope| {
        tr(
            lang,
            Key::ConsentPseudonym,
            &[
                ("scope", &scope),
                (
                    "name",
                    &name.clone().unwrap_or_else(|| asked.verifier.to_string()),
                ),
            ],
        )
    });
    DisclosureView {
        kind: asked.kind,
        verifier: asked.verifier.to_string(),
        verifier_name: name,
        host: host.unwrap_or("offline").to_owned(),
        // Offline there is no host to check; online it must be registered.
        host_registered: registered.is_some_and(|v| host.is_none_or(|h| v.serves_host(h))),
        insecure: false,
        purpose: registered.map(|v| v.purpose.get(l).to_owned()),
        unregistered: registered
            .map(|v| {
                asked
                    .request
                    .unregistered(v)
                    .iter()
                    .map(|u| unregistered_words(u, scheme, lang))
                    .collect()
            })
            .unwrap_or_default(),
        disjunctions,
        predicates,
        pseudonym,
        message: asked.request.message().map(str::to_owned),
    }
}

/// The verifier's verdict from its answer to the presentation
/// ([`PresentationAnswer`]): the proof status, with the precise reason when
/// not valid (`"EXPIRED (TOKEN_EXPIRED)"`).
pub(super) fn verdict(body: &[u8]) -> String {
    match PresentationAnswer::from_json(body) {
        Ok(PresentationAnswer {
            proof_status,
            reason: Some(reason),
        }) => format!("{} ({reason})", proof_status.as_str()),
        Ok(answer) => answer.proof_status.as_str().to_owned(),
        // The presentation was accepted (2xx) but the answer is unreadable:
        // record that rather than guess a verdict.
        Err(e) => format!("UNREADABLE: {e}"),
    }
}

/// Disclose (or sign) for `asked`. `transport` is the client and session URL
/// for an online session, `None` for an offline answer; `host` is the
/// session's host, `None` offline (nothing to check it against). Returns the
/// presentation too, for the offline QR code.
pub(super) async fn disclose(
    wallet: &mut OpenWallet,
    transport: Option<(&Client, &str)>,
    host: Option<String>,
    asked: Asked,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<
    (
        SessionOutcome,
        Option<wallet_core::presentation::Presentation>,
    ),
    SessionError,
> {
    let scheme = scheme_store::scheme_for(&wallet.contents, asked.verifier.scheme().as_str(), now)?;
    asked.request.check_against(&scheme)?;
    let usable = usable_tokens(&wallet.contents, &scheme, now);
    let held: Vec<HeldCredential<'_>> = usable
        .iter()
        .map(|u| HeldCredential {
            credential_type: u.token.credential_type(),
            values: u.token.attributes(),
        })
        .collect();
    let candidates = Candidates::compute(&asked.request, &scheme, &asked.verifier, &held)?;
    if let Some(missing) = candidates.first_unsatisfiable() {
        return Err(SessionError::Unsatisfiable(missing_words(
            &missing, &asked, &scheme, lang,
        )));
    }
    let mut view = disclosure_view(&asked, &scheme, host.as_deref(), &candidates, lang);
    view.insecure = match (transport, host.as_deref()) {
        (Some((_, url)), Some(h)) => is_insecure(url, h),
        _ => false,
    };
    let Some(choice) = consent.disclosure(&view, lang)? else {
        if let Some((client, url)) = transport {
            // Tell the verifier so its page stops waiting; this carries no
            // attribute and its failure changes nothing for the resident.
            let _ = client.delete(&join(url, paths::REQUEST)).await;
        }
        return Ok((SessionOutcome::Declined, None));
    };
    let plan = candidates.plan(&choice)?;

    let holder = holder(&wallet.contents);
    let mut builder = PresentationBuilder::new(&holder, asked.context.clone());
    let mut shown = Vec::new();
    for pc in &plan.credentials {
        let u = usable
            .get(pc.credential)
            .ok_or(PlanError::ChoiceOutOfRange {
                what: "credential",
                index: pc.credential,
                choice: pc.credential,
            })?;
        let key = scheme.valid_key(&u.token.token().key_id, now_u64(now))?;
        let index = builder.token(&u.token, key, &pc.disclose);
        for (position, predicate) in &pc.predicates {
            builder.predicate(index, *position, predicate.clone());
        }
        shown.push((u.credential, u.token_index));
    }
    if let Some(scope) = &plan.pseudonym_scope {
        builder.pseudonym(scope.clone());
    }
    let presentation = builder.prove(&mut OsRng)?;

    let disclosed = chosen_attributes(&view, &choice);
    let mut entry = LogEntry {
        at: now,
        kind: match (asked.kind, transport.is_some()) {
            (SessionKind::Signing, _) => LogKind::Signature,
            (_, true) => LogKind::Disclosure,
            (_, false) => LogKind::OfflineDisclosure,
        },
        party: Some(asked.verifier.to_string()),
        host: host.clone(),
        attributes: disclosed
            .iter()
            .map(|a| LoggedAttribute {
                id: a.id.clone(),
                value: a.value.clone(),
            })
            .collect(),
        predicates: candidates
            .predicates
            .iter()
            .map(|p| LoggedPredicate {
                attribute: p.request.attribute.to_string(),
                predicate: p.predicate.clone(),
            })
            .collect(),
        pseudonym_scope: plan.pseudonym_scope.as_ref().map(|s| s.to_string()),
        message: asked.request.message().map(str::to_owned),
        outcome: None,
    };

    // Used before sent: the save below must reach the disk first.
    for (ci, ti) in &shown {
        if let Some(t) = wallet
            .contents
            .credentials
            .get_mut(*ci)
            .and_then(|c| c.tokens.get_mut(*ti))
        {
            t.used = true;
        }
    }
    let Some((client, url)) = transport else {
        // Offline: the QR code is shown right after this save.
        entry.outcome = Some("SHOWN".into());
        wallet.contents.log.append(entry.clone());
        wallet.save()?;
        return Ok((
            SessionOutcome::Disclosed {
                kind: asked.kind,
                verifier: asked.verifier.to_string(),
                verifier_name: view.verifier_name.clone(),
                status: "SHOWN".into(),
                disclosed,
                predicates: view.predicates,
                pseudonym_scope: entry.pseudonym_scope,
                signature: None,
            },
            Some(presentation),
        ));
    };
    wallet.contents.pending.push(PendingState::Presentation {
        session: url.to_owned(),
        started_at: now,
        entry: entry.clone(),
    });
    wallet.save()?;

    let sent = client
        .post_wire_raw(
            &join(url, paths::PROOFS),
            &PresentationMessage::new(presentation.clone()),
        )
        .await;
    let status = match &sent {
        Ok(body) => verdict(body),
        Err(e) => format!("FAILED: {e}"),
    };
    entry.outcome = Some(status.clone());
    wallet.contents.pending.retain(|p| {
        !matches!(p, PendingState::Presentation { session, started_at, .. }
            if session == url && *started_at == now)
    });
    wallet.contents.log.append(entry.clone());
    wallet.save()?;
    sent?;

    let signature = match asked.kind {
        SessionKind::Signing => AttributeSignature::new(asked.context, presentation)
            .ok()
            .map(Box::new),
        _ => None,
    };
    Ok((
        SessionOutcome::Disclosed {
            kind: asked.kind,
            verifier: asked.verifier.to_string(),
            verifier_name: view.verifier_name.clone(),
            status,
            disclosed,
            predicates: view.predicates,
            pseudonym_scope: entry.pseudonym_scope,
            signature,
        },
        None,
    ))
}

fn chosen_attributes(view: &DisclosureView, choice: &Choice) -> Vec<AttributeLine> {
    view.disjunctions
        .iter()
        .zip(&choice.options)
        .filter_map(|(d, &pick)| d.options.get(pick))
        .flat_map(|o| o.attributes.iter().cloned())
        .collect()
}

fn missing_words(missing: &PlanError, asked: &Asked, scheme: &Scheme, lang: Lang) -> String {
    match missing {
        PlanError::Unsatisfiable(i) => asked
            .request
            .disclose()
            .get(*i)
            .map(|d| {
                d.iter()
                    .map(|conj| {
                        conj.iter()
                            .map(|a| attribute_label(scheme, &a.attribute, lang))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    })
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_else(|| missing.to_string()),
        PlanError::PredicateUnsatisfiable(a) => attribute_label(scheme, a, lang),
        other => other.to_string(),
    }
}
