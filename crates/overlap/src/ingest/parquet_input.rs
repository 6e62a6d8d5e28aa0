//! Parquet rows as the JSON objects a JSONL line would be, so that every layout the JSONL and
//! text-pair readers know is read from Parquet too: strings, numbers and booleans as themselves,
//! `list<…>` as arrays, `struct{…}` as objects (a chat column `list<struct{role, content}>` is a
//! message list), dictionary-encoded columns as their values. A null cell is an absent key, as
//! an empty CSV cell is.
//!
//! Reading streams: one row group's column chunks at a time, decoded into batches of
//! [`BATCH_ROWS`] rows, so memory is bounded by a row group and not by the file. Rows are
//! numbered from 1 across the shards in name order; that number is the record's line in problems,
//! rejects and `line-N` ids.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Number, Value};

use super::record::RawRecord;
use super::{ImportError, Validator};

mod typed;

/// Rows decoded at once: small enough that a batch of long texts stays a few MiB.
const BATCH_ROWS: usize = 1024;
/// Rows decoded at once for comparison records (short rows; larger batches cost less per row).
const RECORD_BATCH_ROWS: usize = 8192;

/// Hands every row of every shard to `f` as a JSON object, with its row number.
pub(crate) fn for_each_object<'a>(
    shards: &[PathBuf],
    v: &mut Validator<'a>,
    mut f: impl FnMut(&mut Validator<'a>, u64, Map<String, Value>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut row = 0u64;
    let mut skipped_reported = false;
    v.in_records = true;
    for shard in shards {
        let batches = open(shard, BATCH_ROWS)?;
        for batch in batches {
            let batch = batch.map_err(|e| unreadable(shard, e))?;
            let (columns, skipped) = readable_columns(&batch);
            if !skipped.is_empty() && !skipped_reported {
                skipped_reported = true;
                v.warn(format!(
                    "{}: column{} of a type overlap does not read, left out: {}",
                    shard.display(),
                    if skipped.len() == 1 { "" } else { "s" },
                    skipped.join(", ")
                ));
            }
            for i in 0..batch.num_rows() {
                if v.should_stop() {
                    return Ok(());
                }
                row += 1;
                f(v, row, object(&columns, i))?;
            }
        }
    }
    Ok(())
}

/// Reads comparison records. Rows of the JSONL records' nesting with well-typed columns (text
/// columns, numeric labels, `a`/`b`/`delta` structs of floats, as `dataset export` writes them) are
/// turned into records column by column; any other row goes through its JSON object and
/// `parse` (the JSONL record reader), so both give the same records and the same problems.
pub(crate) fn read_records<'a>(
    shards: &[PathBuf],
    v: &mut Validator<'a>,
    parse: fn(&mut Validator<'_>, u64, &Map<String, Value>) -> Option<RawRecord>,
    emit: &mut dyn FnMut(&mut Validator<'a>, u64, RawRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut row = 0u64;
    let mut skipped_reported = false;
    v.in_records = true;
    for shard in shards {
        for batch in open(shard, RECORD_BATCH_ROWS)? {
            let batch = batch.map_err(|e| unreadable(shard, e))?;
            let (columns, skipped) = readable_columns(&batch);
            if !skipped.is_empty() && !skipped_reported {
                skipped_reported = true;
                v.warn(format!(
                    "{}: column{} of a type overlap does not read, left out: {}",
                    shard.display(),
                    if skipped.len() == 1 { "" } else { "s" },
                    skipped.join(", ")
                ));
            }
            let plan = if skipped.is_empty() {
                typed::Plan::new(&batch, v.id_field())
            } else {
                None
            };
            for i in 0..batch.num_rows() {
                if v.should_stop() {
                    return Ok(());
                }
                row += 1;
                let raw = match plan.as_ref().and_then(|p| p.record(i)) {
                    Some(raw) => Some(raw),
                    None => parse(v, row, &object(&columns, i)),
                };
                if let Some(raw) = raw {
                    emit(v, row, raw)?;
                }
            }
        }
    }
    Ok(())
}

/// The first row of the first shard (for telling the layout), `None` for an empty file.
pub(crate) fn first_row(shard: &Path) -> Result<Option<Map<String, Value>>, ImportError> {
    let mut batches = open(shard, 1)?;
    match batches.next() {
        None => Ok(None),
        Some(batch) => {
            let batch = batch.map_err(|e| unreadable(shard, e))?;
            let (columns, _) = readable_columns(&batch);
            Ok((batch.num_rows() > 0).then(|| object(&columns, 0)))
        }
    }
}

/// The rows of every shard, from their footers (nothing else is read).
pub(crate) fn total_rows(shards: &[PathBuf]) -> Result<u64, ImportError> {
    let mut total = 0u64;
    for shard in shards {
        let file = File::open(shard).map_err(|cause| ImportError::Io {
            file: shard.display().to_string(),
            cause,
        })?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(shard, e))?;
        total += u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    }
    Ok(total)
}

fn open(
    shard: &Path,
    batch_rows: usize,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, ImportError> {
    let file = File::open(shard).map_err(|cause| ImportError::Io {
        file: shard.display().to_string(),
        cause,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(batch_rows).build())
        .map_err(|e| unreadable(shard, e))
}

fn unreadable(shard: &Path, e: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable {
        file: shard.display().to_string(),
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// The batch's columns overlap can read, and the names of the others.
fn readable_columns(batch: &RecordBatch) -> (Vec<(&str, &ArrayRef)>, Vec<String>) {
    let schema = batch.schema_ref();
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        if readable(field.data_type()) {
            columns.push((field.name().as_str(), array));
        } else {
            skipped.push(format!("{} ({})", field.name(), field.data_type()));
        }
    }
    (columns, skipped)
}

/// Types with a JSON form: text, numbers, booleans and lists and structs of them.
fn readable(t: &DataType) -> bool {
    match t {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            readable(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().all(|f| readable(f.data_type())),
        DataType::Dictionary(_, values) => readable(values),
        _ => false,
    }
}

fn object(columns: &[(&str, &ArrayRef)], i: usize) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, array) in columns {
        if array.is_valid(i) {
            out.insert((*name).to_string(), value(array.as_ref(), i));
        }
    }
    out
}

/// Row `i` of `array` (valid there) as JSON; only [`readable`] types reach here.
fn value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(i).to_string()),
        DataType::List(_) => list(array.as_list::<i32>().value(i).as_ref()),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(i).as_ref()),
        DataType::FixedSizeList(..) => list(array.as_fixed_size_list().value(i).as_ref()),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut out = Map::new();
            for (field, child) in fields.iter().zip(s.columns()) {
                if child.is_valid(i) {
                    out.insert(field.name().clone(), value(child.as_ref(), i));
                }
            }
            Value::Object(out)
        }
        DataType::Dictionary(..) => {
            let d = array.as_any_dictionary();
            match key_at(d.keys(), i) {
                Some(key) if key < d.values().len() => value(d.values().as_ref(), key),
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

/// A dictionary key as an index (dictionary keys are integers).
fn key_at(keys: &dyn Array, i: usize) -> Option<usize> {
    match keys.data_type() {
        DataType::Int8 => usize::try_from(keys.as_primitive::<Int8Type>().value(i)).ok(),
        DataType::Int16 => usize::try_from(keys.as_primitive::<Int16Type>().value(i)).ok(),
        DataType::Int32 => usize::try_from(keys.as_primitive::<Int32Type>().value(i)).ok(),
        DataType::Int64 => usize::try_from(keys.as_primitive::<Int64Type>().value(i)).ok(),
        DataType::UInt8 => Some(usize::from(keys.as_primitive::<UInt8Type>().value(i))),
        DataType::UInt16 => Some(usize::from(keys.as_primitive::<UInt16Type>().value(i))),
        DataType::UInt32 => usize::try_from(keys.as_primitive::<UInt32Type>().value(i)).ok(),
        DataType::UInt64 => usize::try_from(keys.as_primitive::<UInt64Type>().value(i)).ok(),
        _ => None,
    }
}

fn list(items: &dyn Array) -> Value {
    Value::Array((0..items.len()).map(|j| value(items, j)).collect())
}

/// A finite float as a JSON number; NaN and infinities as their names, which the readers then
/// report as "expected a finite number, found a string".
fn float(x: f64) -> Value {
    Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number)
}
