//! Writing a version as Parquet: comparison records in the nesting of the JSONL records (`a` and
//! `b` as `struct{intervention, features: struct{…}, text}`, or `delta` as a struct of the
//! features), so a Parquet export re-imports to the same digest; or TRL `prompt/chosen/rejected`
//! string columns for a DPO or reward trainer. Rows are buffered [`BATCH_ROWS`] at a time and row
//! groups are capped, so memory stays bounded for any version.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, StructArray, UInt8Array};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::model::{Comparison, FeatureSchema, FeatureValues};

const BATCH_ROWS: usize = 4096;
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// What the columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetKind {
    /// Comparison records with per-side features (`a`, `b`).
    Sides,
    /// Comparison records with feature differences (`delta`).
    Delta,
    /// TRL preference records (`prompt`, `chosen`, `rejected`), the preferred response first.
    Trl,
    /// The same as message lists (`list<struct{role, content}>`), for a conversational import.
    TrlConversational,
}

/// Streams comparisons into a Parquet file.
pub struct ParquetExporter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    features: Vec<String>,
    kind: ParquetKind,
    pending: Vec<Comparison>,
}

impl<W: Write + Send> ParquetExporter<W> {
    pub fn new(
        out: W,
        schema: &FeatureSchema,
        kind: ParquetKind,
    ) -> Result<Self, parquet::errors::ParquetError> {
        let arrow = Arc::new(arrow_schema(&schema.features, kind));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        Ok(ParquetExporter {
            writer: ArrowWriter::try_new(out, arrow.clone(), Some(props))?,
            schema: arrow,
            features: schema.features.clone(),
            kind,
            pending: Vec::with_capacity(BATCH_ROWS),
        })
    }

    /// Adds one comparison; its values must have the exporter's shape (a per-side record in a
    /// delta export is an error, as in the CSV export).
    pub fn write(&mut self, c: Comparison) -> Result<(), ExportError> {
        let matches = matches!(
            (&c.values, self.kind),
            (FeatureValues::Sides { .. }, ParquetKind::Sides)
                | (FeatureValues::Delta(_), ParquetKind::Delta)
                | (_, ParquetKind::Trl | ParquetKind::TrlConversational)
        );
        if !matches {
            return Err(ExportError::Shape(c.id));
        }
        let trl = matches!(self.kind, ParquetKind::Trl | ParquetKind::TrlConversational);
        if trl && super::export::trl_texts(&c).is_none() {
            return Err(ExportError::NoText(c.id));
        }
        self.pending.push(c);
        if self.pending.len() == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is buffered and the file's footer.
    pub fn finish(mut self) -> Result<W, ExportError> {
        self.flush()?;
        Ok(self.writer.into_inner()?)
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let columns = match self.kind {
            ParquetKind::Trl => trl_columns(&rows),
            ParquetKind::TrlConversational => trl_message_columns(&rows),
            kind => record_columns(&rows, &self.features, kind),
        };
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| ExportError::Parquet(e.into()))?;
        self.writer.write(&batch)?;
        self.pending = rows;
        self.pending.clear();
        Ok(())
    }
}

/// Why a Parquet export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("comparison '{0}' has no response texts: a TRL export needs them")]
    NoText(String),
    #[error(
        "comparison '{0}' has a different shape (per-side features or differences) from the first: a version that mixes them exports as jsonl"
    )]
    Shape(String),
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

fn text() -> DataType {
    DataType::Utf8
}

fn features_type(features: &[String]) -> DataType {
    DataType::Struct(
        features
            .iter()
            .map(|f| Field::new(f, DataType::Float64, false))
            .collect(),
    )
}

fn side_fields(features: Option<&[String]>) -> Fields {
    let mut fields = vec![Field::new("intervention", text(), true)];
    if let Some(f) = features {
        fields.push(Field::new("features", features_type(f), false));
    }
    fields.push(Field::new("text", text(), true));
    fields.into()
}

fn arrow_schema(features: &[String], kind: ParquetKind) -> Schema {
    if kind == ParquetKind::Trl {
        return Schema::new(vec![
            Field::new("prompt", text(), false),
            Field::new("chosen", text(), false),
            Field::new("rejected", text(), false),
        ]);
    }
    if kind == ParquetKind::TrlConversational {
        return Schema::new(vec![
            Field::new("prompt", chat_type(), false),
            Field::new("chosen", chat_type(), false),
            Field::new("rejected", chat_type(), false),
        ]);
    }
    let mut fields = vec![
        Field::new("id", text(), false),
        Field::new("bucket", text(), false),
        Field::new("group", text(), true),
        Field::new("prompt_id", text(), true),
    ];
    match kind {
        ParquetKind::Sides => {
            let side = DataType::Struct(side_fields(Some(features)));
            fields.push(Field::new("a", side.clone(), false));
            fields.push(Field::new("b", side, false));
        }
        _ => {
            let side = DataType::Struct(side_fields(None));
            fields.push(Field::new("a", side.clone(), true));
            fields.push(Field::new("b", side, true));
            fields.push(Field::new("delta", features_type(features), false));
        }
    }
    fields.push(Field::new("label", DataType::UInt8, false));
    fields.push(Field::new("labeler", text(), true));
    fields.push(Field::new("prompt", text(), true));
    Schema::new(fields)
}

fn strings<'a>(rows: &'a [Comparison], f: impl Fn(&'a Comparison) -> Option<&'a str>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

/// The features struct of every row; `values` gives a row's values in schema order.
fn features_array<'a>(
    rows: &'a [Comparison],
    features: &[String],
    values: impl Fn(&'a Comparison) -> &'a [f64],
) -> StructArray {
    let columns: Vec<ArrayRef> = (0..features.len())
        .map(|j| Arc::new(rows.iter().map(|c| values(c)[j]).collect::<Float64Array>()) as ArrayRef)
        .collect();
    let DataType::Struct(fields) = features_type(features) else {
        unreachable!("features_type is a struct")
    };
    StructArray::new(fields, columns, None)
}

fn record_columns(rows: &[Comparison], features: &[String], kind: ParquetKind) -> Vec<ArrayRef> {
    let mut columns = vec![
        strings(rows, |c| Some(c.id.as_str())),
        strings(rows, |c| Some(c.bucket.as_str())),
        strings(rows, |c| c.group.as_deref()),
        strings(rows, |c| c.prompt_id.as_deref()),
    ];
    let side = |a: bool, values: Option<StructArray>, nulls: Option<NullBuffer>| -> ArrayRef {
        let mut children = vec![strings(rows, |c| {
            if a {
                c.a_intervention.as_deref()
            } else {
                c.b_intervention.as_deref()
            }
        })];
        if let Some(v) = values {
            children.push(Arc::new(v));
        }
        children.push(strings(rows, |c| {
            if a {
                c.a_text.as_deref()
            } else {
                c.b_text.as_deref()
            }
        }));
        let fields = side_fields(if kind == ParquetKind::Sides {
            Some(features)
        } else {
            None
        });
        Arc::new(StructArray::new(fields, children, nulls))
    };
    match kind {
        ParquetKind::Sides => {
            columns.push(side(
                true,
                Some(features_array(rows, features, |c| sides(c).0)),
                None,
            ));
            columns.push(side(
                false,
                Some(features_array(rows, features, |c| sides(c).1)),
                None,
            ));
        }
        _ => {
            // As in the JSONL export, a side with neither an intervention nor a text is absent.
            let present = |a: bool| -> NullBuffer {
                rows.iter()
                    .map(|c| {
                        if a {
                            c.a_intervention.is_some() || c.a_text.is_some()
                        } else {
                            c.b_intervention.is_some() || c.b_text.is_some()
                        }
                    })
                    .collect::<Vec<bool>>()
                    .into()
            };
            columns.push(side(true, None, Some(present(true))));
            columns.push(side(false, None, Some(present(false))));
            columns.push(Arc::new(features_array(rows, features, |c| sides(c).0)));
        }
    }
    columns.push(Arc::new(
        rows.iter().map(|c| c.label).collect::<UInt8Array>(),
    ));
    columns.push(strings(rows, |c| c.labeler.as_deref()));
    columns.push(strings(rows, |c| c.prompt.as_deref()));
    columns
}

/// A row's values: per side (`a`, `b`), or the difference twice.
fn sides(c: &Comparison) -> (&[f64], &[f64]) {
    match &c.values {
        FeatureValues::Sides { a, b } => (a, b),
        FeatureValues::Delta(d) => (d, d),
    }
}

/// `list<struct{role, content}>`, the chat column of Hugging Face datasets.
fn message_fields() -> Fields {
    vec![
        Field::new("role", text(), false),
        Field::new("content", text(), false),
    ]
    .into()
}

fn chat_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(message_fields()),
        true,
    )))
}

/// One chat column from each row's messages.
fn chat_column(rows: &[Vec<(&str, String)>]) -> ArrayRef {
    let lengths = rows.iter().map(Vec::len);
    let roles: StringArray = rows.iter().flatten().map(|(r, _)| Some(*r)).collect();
    let contents: StringArray = rows
        .iter()
        .flatten()
        .map(|(_, c)| Some(c.as_str()))
        .collect();
    let messages = StructArray::new(
        message_fields(),
        vec![Arc::new(roles) as ArrayRef, Arc::new(contents)],
        None,
    );
    let DataType::List(item) = chat_type() else {
        unreachable!("chat_type is a list")
    };
    Arc::new(arrow_array::ListArray::new(
        item,
        arrow_buffer::OffsetBuffer::from_lengths(lengths),
        Arc::new(messages),
        None,
    ))
}

fn trl_message_columns(rows: &[Comparison]) -> Vec<ArrayRef> {
    let mut prompts = Vec::with_capacity(rows.len());
    let mut chosen = Vec::with_capacity(rows.len());
    let mut rejected = Vec::with_capacity(rows.len());
    for (prompt, win, lose) in rows.iter().filter_map(super::export::trl_texts) {
        prompts.push(
            super::export::prompt_messages(&prompt)
                .into_iter()
                .map(|(role, content)| (role, content.to_string()))
                .collect::<Vec<_>>(),
        );
        chosen.push(vec![("assistant", win)]);
        rejected.push(vec![("assistant", lose)]);
    }
    vec![
        chat_column(&prompts),
        chat_column(&chosen),
        chat_column(&rejected),
    ]
}

fn trl_columns(rows: &[Comparison]) -> Vec<ArrayRef> {
    let mut columns: [Vec<String>; 3] = Default::default();
    // Every row was checked to carry texts when it was written.
    for (prompt, chosen, rejected) in rows.iter().filter_map(super::export::trl_texts) {
        columns[0].push(prompt);
        columns[1].push(chosen);
        columns[2].push(rejected);
    }
    columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect()
}
