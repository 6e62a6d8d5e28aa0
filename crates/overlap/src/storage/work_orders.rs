//! Recorded work orders of `design next` (migration 06): the order, its lines per arm and the
//! candidate pairs it picked, written in one transaction; read back oldest first.

use rusqlite::params;
use serde::Serialize;

use super::{Result, StorageError, Store};
use crate::model::VersionInfo;

/// One arm's line of a work order as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderLine {
    pub arm: String,
    pub count: u64,
    pub floor: u64,
    pub pilot: u64,
    pub designed: u64,
    pub cost_per_label: f64,
    pub n_before: u64,
}

/// A candidate pair a work order picked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderItem {
    pub candidate_id: String,
    pub arm: String,
    /// 1 = best within its arm.
    pub rank: u64,
    pub margin: f64,
    pub score: f64,
}

/// What `record_work_order` stores.
pub struct NewWorkOrder<'a> {
    pub bucket: &'a str,
    pub strategy: &'a str,
    pub batch: u64,
    pub explore: f64,
    pub budget: Option<f64>,
    pub seed: u64,
    pub cost: f64,
    pub lambda_min_before: f64,
    pub lambda_min_after: f64,
    pub worst_se_after: Option<f64>,
    pub params: &'a serde_json::Value,
    pub result: &'a serde_json::Value,
    pub lines: &'a [WorkOrderLine],
    pub items: &'a [WorkOrderItem],
    pub now: &'a str,
    pub actor: &'a str,
}

/// A stored work order with its lines (items are in `result`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderRecord {
    pub id: i64,
    pub dataset: String,
    pub version: u32,
    pub bucket: String,
    pub strategy: String,
    pub batch: u64,
    pub cost: f64,
    pub lambda_min_before: f64,
    pub lambda_min_after: f64,
    pub worst_se_after: Option<f64>,
    pub lines: Vec<WorkOrderLine>,
    pub items: u64,
    pub tool_version: String,
    pub created_at: String,
    pub created_by: String,
}

fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

/// SQLite integers are i64; counts and seeds beyond i64::MAX are refused rather than wrapped.
fn int(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v)
        .map_err(|_| StorageError::Conflict(format!("{what} {v} is too large to store")))
}

impl Store {
    /// Records a work order, its lines and its items in one transaction; returns its id.
    pub fn record_work_order(
        &mut self,
        version: &VersionInfo,
        w: &NewWorkOrder<'_>,
    ) -> Result<i64> {
        let tx = self.write_transaction()?;
        tx.execute(
            "INSERT INTO work_orders (version_id, bucket, strategy, batch, explore, budget, seed, cost,
             lambda_min_before, lambda_min_after, worst_se_after, params, result, tool_version,
             created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                version.id,
                w.bucket,
                w.strategy,
                int(w.batch, "batch")?,
                w.explore,
                w.budget,
                // Seeds are u64; stored as their two's-complement i64 so every seed round-trips.
                w.seed as i64,
                w.cost,
                w.lambda_min_before,
                w.lambda_min_after,
                w.worst_se_after,
                serde_json::to_string(w.params).map_err(corrupt)?,
                serde_json::to_string(w.result).map_err(corrupt)?,
                crate::TOOL_VERSION,
                w.now,
                w.actor
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut line = tx.prepare(
                "INSERT INTO work_order_arms (work_order_id, arm, count, floor, pilot, designed,
                 cost_per_label, n_before) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for l in w.lines {
                line.execute(params![
                    id,
                    l.arm,
                    int(l.count, "count")?,
                    int(l.floor, "floor")?,
                    int(l.pilot, "pilot")?,
                    int(l.designed, "designed")?,
                    l.cost_per_label,
                    int(l.n_before, "n_before")?
                ])?;
            }
            let mut item = tx.prepare(
                "INSERT INTO work_order_items (work_order_id, candidate_id, arm, rank, margin, score)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for i in w.items {
                item.execute(params![
                    id,
                    i.candidate_id,
                    i.arm,
                    int(i.rank, "rank")?,
                    i.margin,
                    i.score
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Work orders of every version of a dataset, oldest first.
    pub fn work_orders(&self, dataset: &str) -> Result<Vec<WorkOrderRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT w.id, d.name, v.version, w.bucket, w.strategy, w.batch, w.cost,
                    w.lambda_min_before, w.lambda_min_after, w.worst_se_after, w.tool_version,
                    w.created_at, w.created_by,
                    (SELECT count(*) FROM work_order_items i WHERE i.work_order_id = w.id)
             FROM work_orders w JOIN dataset_versions v ON v.id = w.version_id
             JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ?1 ORDER BY w.id",
        )?;
        let rows = stmt.query_map([dataset], |r| {
            Ok(WorkOrderRecord {
                id: r.get(0)?,
                dataset: r.get(1)?,
                version: r.get(2)?,
                bucket: r.get(3)?,
                strategy: r.get(4)?,
                batch: r.get::<_, i64>(5)?.max(0) as u64,
                cost: r.get(6)?,
                lambda_min_before: r.get(7)?,
                lambda_min_after: r.get(8)?,
                worst_se_after: r.get(9)?,
                lines: Vec::new(),
                items: r.get::<_, i64>(13)?.max(0) as u64,
                tool_version: r.get(10)?,
                created_at: r.get(11)?,
                created_by: r.get(12)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?);
        }
        let mut lines = self.conn.prepare(
            "SELECT arm, count, floor, pilot, designed, cost_per_label, n_before
             FROM work_order_arms WHERE work_order_id = ?1 ORDER BY arm",
        )?;
        for rec in &mut out {
            let found = lines.query_map([rec.id], |r| {
                let u =
                    |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
                Ok(WorkOrderLine {
                    arm: r.get(0)?,
                    count: u(1)?,
                    floor: u(2)?,
                    pilot: u(3)?,
                    designed: u(4)?,
                    cost_per_label: r.get(5)?,
                    n_before: u(6)?,
                })
            })?;
            for l in found {
                rec.lines.push(l?);
            }
        }
        Ok(out)
    }
}
