//! The intervention registry and its append-only, hash-chained event log.
//!
//! Every change (add, update, retire, acceptance observation) writes its state rows and one event in
//! the same transaction. An event's hash is SHA-256 over the previous hash followed by the event's
//! canonical JSON (fields in a fixed order, `before`/`after` embedded exactly as stored), so editing,
//! inserting or removing any event breaks the chain; the head (count and last hash) is also kept in
//! `meta`, so removing the newest events is caught too.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Result, StorageError, Store};
use crate::model::digest::sha256_hex;
use crate::model::intervention::Retirement;
use crate::model::{AcceptanceObservation, Intervention, InterventionSpec};

/// The hash that precedes the first event.
pub(super) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One registry event as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryEvent {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
}

/// Where the chain first fails to verify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainBreak {
    /// Sequence number of the first event that does not verify (or the expected next one).
    pub seq: i64,
    pub reason: String,
}

/// A piece of the registry's current state that its events do not account for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateBreak {
    /// The intervention concerned.
    pub subject: String,
    pub reason: String,
}

/// The canonical JSON an acceptance event carries: the intervention's name and the observation.
fn acceptance_json(name: &str, obs: &AcceptanceObservation) -> Result<String> {
    #[derive(Serialize)]
    struct Event<'a> {
        intervention: &'a str,
        #[serde(flatten)]
        obs: &'a AcceptanceObservation,
    }
    to_json(&Event {
        intervention: name,
        obs,
    })
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// The canonical JSON of an event: fixed field order, `before`/`after` embedded verbatim.
fn canonical_event(
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    format!(
        "{{\"seq\":{seq},\"at\":{},\"actor\":{},\"kind\":{},\"subject\":{},\"before\":{},\"after\":{}}}",
        json_str(at),
        json_str(actor),
        json_str(kind),
        json_str(subject),
        before.unwrap_or("null"),
        after.unwrap_or("null"),
    )
}

fn chain_hash(prev: &str, canonical: &str) -> String {
    let mut bytes = Vec::with_capacity(prev.len() + canonical.len());
    bytes.extend_from_slice(prev.as_bytes());
    bytes.extend_from_slice(canonical.as_bytes());
    sha256_hex(&bytes)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn head(tx: &Transaction<'_>) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM registry_events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.unwrap_or((0, GENESIS_HASH.to_string())))
}

#[allow(clippy::too_many_arguments)]
fn append_event(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<()> {
    let (last_seq, prev) = head(tx)?;
    let seq = last_seq + 1;
    let hash = chain_hash(
        &prev,
        &canonical_event(seq, at, actor, kind, subject, before, after),
    );
    tx.execute(
        "INSERT INTO registry_events (seq, at, actor, kind, subject, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![seq, at, actor, kind, subject, before, after, prev, hash],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('registry_head', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [format!("{seq}:{hash}")],
    )?;
    Ok(())
}

fn intervention_id(tx: &Transaction<'_>, name: &str) -> Result<Option<i64>> {
    Ok(tx
        .query_row(
            "SELECT id FROM interventions WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

const SELECT_VERSION: &str = "SELECT i.name, v.version, v.family, v.intent, v.cost, v.targets,
        v.confounds, v.owner, v.description, v.created_at, v.created_by,
        i.retired_at, i.retired_by, i.retired_reason,
        (SELECT max(version) FROM intervention_versions WHERE intervention_id = i.id)
    FROM interventions i JOIN intervention_versions v ON v.intervention_id = i.id";

fn read_intervention(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Intervention, u32)> {
    let parse_list = |idx: usize, text: String| {
        serde_json::from_str::<Vec<String>>(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let retired_at: Option<String> = r.get(11)?;
    let version: u32 = r.get(1)?;
    let latest: u32 = r.get(14)?;
    let retired = match retired_at {
        // Retirement belongs to the intervention's latest state; older versions predate it.
        Some(at) if version == latest => Some(Retirement {
            at,
            by: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
            reason: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok((
        Intervention {
            name: r.get(0)?,
            version,
            spec: InterventionSpec {
                family: r.get(2)?,
                intent: r.get(3)?,
                cost: r.get(4)?,
                targets: parse_list(5, r.get(5)?)?,
                confounds: parse_list(6, r.get(6)?)?,
                owner: r.get(7)?,
                description: r.get(8)?,
            },
            created_at: r.get(9)?,
            created_by: r.get(10)?,
            retired,
        },
        latest,
    ))
}

impl Store {
    fn load_intervention(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<(Intervention, u32)>> {
        let sql = match version {
            Some(_) => format!("{SELECT_VERSION} WHERE i.name = ?1 AND v.version = ?2"),
            None => format!(
                "{SELECT_VERSION} WHERE i.name = ?1 AND v.version =
                 (SELECT max(version) FROM intervention_versions WHERE intervention_id = i.id)"
            ),
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let row = match version {
            Some(v) => stmt.query_row(params![name, v], read_intervention),
            None => stmt.query_row(params![name], read_intervention),
        }
        .optional()?;
        Ok(row)
    }

    /// One version of an intervention (the latest when `version` is `None`).
    pub fn intervention(&self, name: &str, version: Option<u32>) -> Result<Intervention> {
        match self.load_intervention(name, version)? {
            Some((i, _)) => Ok(i),
            None => match (version, self.load_intervention(name, None)?) {
                (Some(v), Some((_, latest))) => Err(StorageError::NotFound(format!(
                    "intervention '{name}' has no version {v} (latest is {latest})"
                ))),
                _ => Err(StorageError::NotFound(format!(
                    "no intervention named '{name}': see `overlap intervention list`"
                ))),
            },
        }
    }

    /// The latest version of every intervention, sorted by name.
    pub fn interventions(&self) -> Result<Vec<Intervention>> {
        let sql = format!(
            "{SELECT_VERSION} WHERE v.version =
             (SELECT max(version) FROM intervention_versions WHERE intervention_id = i.id)
             ORDER BY i.name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], read_intervention)?;
        rows.map(|r| r.map(|(i, _)| i).map_err(StorageError::from))
            .collect()
    }

    /// Every version of an intervention, oldest first.
    pub fn intervention_history(&self, name: &str) -> Result<Vec<Intervention>> {
        let sql = format!("{SELECT_VERSION} WHERE i.name = ?1 ORDER BY v.version");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([name], read_intervention)?;
        rows.map(|r| r.map(|(i, _)| i).map_err(StorageError::from))
            .collect()
    }

    /// Registers a new intervention at version 1.
    pub fn add_intervention(
        &mut self,
        name: &str,
        spec: &InterventionSpec,
        actor: &str,
        now: &str,
    ) -> Result<Intervention> {
        let tx = self.write_transaction()?;
        if intervention_id(&tx, name)?.is_some() {
            return Err(StorageError::Conflict(format!(
                "intervention '{name}' already exists: use `overlap intervention update {name}` to make a new version"
            )));
        }
        tx.execute(
            "INSERT INTO interventions (name, created_at) VALUES (?1, ?2)",
            params![name, now],
        )?;
        let id = tx.last_insert_rowid();
        let created = insert_version(&tx, id, name, 1, spec, actor, now)?;
        append_event(
            &tx,
            now,
            actor,
            "add",
            name,
            None,
            Some(&to_json(&created)?),
        )?;
        tx.commit()?;
        Ok(created)
    }

    /// Makes version N+1 of an intervention with a new spec.
    pub fn update_intervention(
        &mut self,
        name: &str,
        spec: &InterventionSpec,
        actor: &str,
        now: &str,
    ) -> Result<Intervention> {
        let (before, _) = self
            .load_intervention(name, None)?
            .ok_or_else(|| StorageError::NotFound(format!("no intervention named '{name}'")))?;
        if before.retired.is_some() {
            return Err(StorageError::Conflict(format!(
                "intervention '{name}' is retired and cannot be updated"
            )));
        }
        if &before.spec == spec {
            return Err(StorageError::Conflict(format!(
                "nothing to update: the options given leave '{name}' unchanged"
            )));
        }
        let tx = self.write_transaction()?;
        let id = intervention_id(&tx, name)?
            .ok_or_else(|| StorageError::NotFound(format!("no intervention named '{name}'")))?;
        let created = insert_version(&tx, id, name, before.version + 1, spec, actor, now)?;
        append_event(
            &tx,
            now,
            actor,
            "update",
            name,
            Some(&to_json(&before)?),
            Some(&to_json(&created)?),
        )?;
        tx.commit()?;
        Ok(created)
    }

    /// Retires an intervention: new imports may no longer reference it.
    pub fn retire_intervention(
        &mut self,
        name: &str,
        reason: &str,
        actor: &str,
        now: &str,
    ) -> Result<Intervention> {
        let (before, _) = self
            .load_intervention(name, None)?
            .ok_or_else(|| StorageError::NotFound(format!("no intervention named '{name}'")))?;
        if before.retired.is_some() {
            return Err(StorageError::Conflict(format!(
                "intervention '{name}' is already retired"
            )));
        }
        let tx = self.write_transaction()?;
        tx.execute(
            "UPDATE interventions SET retired_at = ?2, retired_by = ?3, retired_reason = ?4
             WHERE name = ?1",
            params![name, now, actor, reason],
        )?;
        let mut after = before.clone();
        after.retired = Some(Retirement {
            at: now.to_string(),
            by: actor.to_string(),
            reason: reason.to_string(),
        });
        append_event(
            &tx,
            now,
            actor,
            "retire",
            name,
            Some(&to_json(&before)?),
            Some(&to_json(&after)?),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Records an acceptance observation for an intervention in a bucket.
    pub fn record_acceptance(&mut self, name: &str, obs: &AcceptanceObservation) -> Result<()> {
        let tx = self.write_transaction()?;
        let id = intervention_id(&tx, name)?
            .ok_or_else(|| StorageError::NotFound(format!("no intervention named '{name}'")))?;
        tx.execute(
            "INSERT INTO acceptance_observations
             (intervention_id, bucket, attempts, accepted, note, recorded_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                obs.bucket,
                obs.attempts as i64,
                obs.accepted as i64,
                obs.note,
                obs.recorded_at,
                obs.recorded_by
            ],
        )?;
        let after = acceptance_json(name, obs)?;
        append_event(
            &tx,
            &obs.recorded_at,
            &obs.recorded_by,
            "acceptance",
            name,
            None,
            Some(&after),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Acceptance observations of an intervention, in recording order.
    pub fn acceptance_observations(&self, name: &str) -> Result<Vec<AcceptanceObservation>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.bucket, a.attempts, a.accepted, a.note, a.recorded_at, a.recorded_by
             FROM acceptance_observations a JOIN interventions i ON i.id = a.intervention_id
             WHERE i.name = ?1 ORDER BY a.id",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok(AcceptanceObservation {
                bucket: r.get(0)?,
                attempts: r.get::<_, i64>(1)? as u64,
                accepted: r.get::<_, i64>(2)? as u64,
                note: r.get(3)?,
                recorded_at: r.get(4)?,
                recorded_by: r.get(5)?,
            })
        })?;
        rows.map(|r| r.map_err(StorageError::from)).collect()
    }

    /// Every registry event, oldest first.
    pub fn registry_events(&self) -> Result<Vec<RegistryEvent>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, kind, subject, before, after, prev_hash, hash
             FROM registry_events ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let parse =
                |idx: usize, t: Option<String>| -> rusqlite::Result<Option<serde_json::Value>> {
                    t.map(|t| {
                        serde_json::from_str(&t).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                idx,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })
                    })
                    .transpose()
                };
            Ok(RegistryEvent {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                kind: r.get(3)?,
                subject: r.get(4)?,
                before: parse(5, r.get(5)?)?,
                after: parse(6, r.get(6)?)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        })?;
        rows.map(|r| r.map_err(StorageError::from)).collect()
    }

    /// The hash of the newest registry event (the genesis hash for an empty registry).
    pub fn registry_head(&self) -> Result<String> {
        let row: Option<String> = self
            .conn
            .query_row(
                "SELECT hash FROM registry_events ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(row.unwrap_or_else(|| GENESIS_HASH.to_string()))
    }

    /// Checks the registry's current state against its events: every intervention version is the
    /// state an add or update event recorded, a retirement is the one its retire event recorded,
    /// the acceptance observations are exactly those of the acceptance events, in order, and no
    /// intervention exists without events (or the reverse). The first mismatch, by name.
    pub fn verify_registry_state(&self) -> Result<Option<StateBreak>> {
        #[derive(Default)]
        struct Expected {
            versions: Vec<String>,
            retired: Option<String>,
            acceptance: Vec<String>,
        }
        let mut expected: std::collections::BTreeMap<String, Expected> = Default::default();
        let mut stmt = self
            .conn
            .prepare("SELECT kind, subject, after FROM registry_events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (kind, subject, after): (String, String, Option<String>) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            let entry = expected.entry(subject).or_default();
            let after = after.unwrap_or_default();
            match kind.as_str() {
                "add" | "update" => entry.versions.push(after),
                "retire" => entry.retired = Some(after),
                _ => entry.acceptance.push(after),
            }
        }
        let mut names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM interventions ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for name in expected.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.sort();
        for name in names {
            let broken = |reason: String| {
                Ok(Some(StateBreak {
                    subject: name.clone(),
                    reason,
                }))
            };
            let Some(want) = expected.get(&name) else {
                return broken("it exists without any registry event".into());
            };
            let history = self.intervention_history(&name)?;
            if history.len() != want.versions.len() {
                return broken(format!(
                    "it has {} stored versions but its events record {}",
                    history.len(),
                    want.versions.len()
                ));
            }
            for (stored, recorded) in history.iter().zip(&want.versions) {
                let as_created = Intervention {
                    retired: None,
                    ..stored.clone()
                };
                if to_json(&as_created)? != *recorded {
                    return broken(format!(
                        "version {} differs from the state its event recorded",
                        stored.version
                    ));
                }
            }
            match (history.last(), &want.retired) {
                (Some(latest), Some(recorded)) if latest.retired.is_some() => {
                    if to_json(latest)? != *recorded {
                        return broken("its retirement differs from its retire event".into());
                    }
                }
                (Some(latest), None) if latest.retired.is_none() => {}
                (_, Some(_)) => return broken("its retire event has no stored retirement".into()),
                (_, None) => return broken("it is retired without a retire event".into()),
            }
            let observations = self.acceptance_observations(&name)?;
            if observations.len() != want.acceptance.len() {
                return broken(format!(
                    "it has {} stored acceptance observations but its events record {}",
                    observations.len(),
                    want.acceptance.len()
                ));
            }
            for (k, (obs, recorded)) in observations.iter().zip(&want.acceptance).enumerate() {
                if acceptance_json(&name, obs)? != *recorded {
                    return broken(format!(
                        "acceptance observation {} differs from its event",
                        k + 1
                    ));
                }
            }
        }
        Ok(None)
    }

    /// Recomputes the chain from the stored rows. `Ok(None)` when intact; the number of events
    /// checked is returned alongside.
    pub fn verify_registry(&self) -> Result<(u64, Option<ChainBreak>)> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, kind, subject, before, after, prev_hash, hash
             FROM registry_events ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = GENESIS_HASH.to_string();
        let mut expected_seq = 1i64;
        let mut count = 0u64;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let at: String = r.get(1)?;
            let actor: String = r.get(2)?;
            let kind: String = r.get(3)?;
            let subject: String = r.get(4)?;
            let before: Option<String> = r.get(5)?;
            let after: Option<String> = r.get(6)?;
            let prev_hash: String = r.get(7)?;
            let hash: String = r.get(8)?;
            if seq != expected_seq {
                let reason = if seq > expected_seq {
                    format!("event {expected_seq} is missing (next stored event is {seq})")
                } else {
                    format!("event {seq} is out of sequence")
                };
                return Ok((
                    count,
                    Some(ChainBreak {
                        seq: expected_seq,
                        reason,
                    }),
                ));
            }
            if prev_hash != prev {
                return Ok((
                    count,
                    Some(ChainBreak {
                        seq,
                        reason: "its previous-hash does not match the event before it".into(),
                    }),
                ));
            }
            let canonical = canonical_event(
                seq,
                &at,
                &actor,
                &kind,
                &subject,
                before.as_deref(),
                after.as_deref(),
            );
            if chain_hash(&prev, &canonical) != hash {
                return Ok((
                    count,
                    Some(ChainBreak {
                        seq,
                        reason: "its content does not match its hash (the row was altered)".into(),
                    }),
                ));
            }
            prev = hash;
            expected_seq += 1;
            count += 1;
        }
        let recorded: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'registry_head'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let actual = format!("{}:{}", expected_seq - 1, prev);
        match recorded {
            None if count == 0 => {}
            Some(ref head) if *head == actual => {}
            _ => {
                // The first event the recorded head does not cover is where history diverges:
                // an appended event when the head names an earlier one, else the next expected.
                let head_seq = recorded
                    .as_deref()
                    .and_then(|h| h.split_once(':'))
                    .and_then(|(s, _)| s.parse::<i64>().ok());
                let seq = match head_seq {
                    Some(h) if h < expected_seq - 1 => h + 1,
                    _ => expected_seq,
                };
                return Ok((
                    count,
                    Some(ChainBreak {
                        seq,
                        reason: format!(
                            "the recorded head ({}) does not match the last event ({actual}): events were removed or the head was altered",
                            recorded.as_deref().unwrap_or("none")
                        ),
                    }),
                ));
            }
        }
        Ok((count, None))
    }
}

fn insert_version(
    tx: &Transaction<'_>,
    id: i64,
    name: &str,
    version: u32,
    spec: &InterventionSpec,
    actor: &str,
    now: &str,
) -> Result<Intervention> {
    tx.execute(
        "INSERT INTO intervention_versions
         (intervention_id, version, family, intent, cost, targets, confounds, owner, description,
          created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            version,
            spec.family,
            spec.intent,
            spec.cost,
            to_json(&spec.targets)?,
            to_json(&spec.confounds)?,
            spec.owner,
            spec.description,
            now,
            actor
        ],
    )?;
    Ok(Intervention {
        name: name.to_string(),
        version,
        spec: spec.clone(),
        created_at: now.to_string(),
        created_by: actor.to_string(),
        retired: None,
    })
}
