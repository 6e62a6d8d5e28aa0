"""Parquet between overlap and pyarrow/pandas, both ways, on the real HH-RLHF split.

Run by .ci/run in a fresh virtual environment (pyarrow, pandas, pytest from the Python registry)
against the binary built with `--features parquet`; OVERLAP_BIN names it.
"""

import gzip
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("OVERLAP_BIN", str(ROOT / "target" / "debug" / "overlap"))
HH = ROOT / "tests" / "data" / "hh-rlhf" / "hh-rlhf-harmless-test.jsonl.gz"


def overlap(db, *args):
    env = dict(os.environ, OVERLAP_ACTOR="interop")
    env.pop("OVERLAP_DB", None)
    done = subprocess.run(
        [BIN, "--db", str(db), *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, f"overlap {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def imported(db, name, path, *args):
    out = overlap(db, "dataset", "import", name, str(path), *args, "--format", "json")
    return json.loads(out.stdout)


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "overlap.db"
    overlap(path, "init")
    return path


def hh_rows():
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_pyarrow_written_pairs_import_with_the_digest_of_the_json_lines(db, tmp_path):
    rows = hh_rows()
    table = pa.Table.from_pylist(rows)
    # Several row groups and two shards in the Hugging Face layout.
    data = tmp_path / "hh" / "data"
    data.mkdir(parents=True)
    half = len(rows) // 2
    pq.write_table(table.slice(0, half), data / "test-00000-of-00002.parquet", row_group_size=300)
    pq.write_table(table.slice(half), data / "test-00001-of-00002.parquet", row_group_size=300)
    from_jsonl = imported(db, "hh", HH)
    from_parquet = imported(db, "hh-parquet", tmp_path / "hh")
    assert from_parquet["rows"] == len(rows) == from_jsonl["rows"]
    assert from_parquet["digest"] == from_jsonl["digest"]


def test_pandas_written_records_import_with_the_digest_of_the_json_lines(db, tmp_path):
    records = [
        {
            "id": f"r{i}",
            "bucket": ["general", "safety"][i % 2],
            "a": {"intervention": None, "features": {"length": i / 4, "list": float(i % 3)}},
            "b": {"intervention": None, "features": {"length": 1 - i / 8, "list": 0.0}},
            "label": i % 2,
        }
        for i in range(40)
    ]
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    frame = pd.DataFrame(records)
    frame["bucket"] = frame["bucket"].astype("category")
    frame.to_parquet(tmp_path / "records.parquet")
    a = imported(db, "records", jsonl)
    b = imported(db, "records-parquet", tmp_path / "records.parquet")
    assert a["digest"] == b["digest"]


def test_exports_are_read_by_pyarrow_and_pandas_as_the_json_export_says(db, tmp_path):
    imported(db, "hh", HH)
    for name in ["hh.parquet", "hh.jsonl", "hh.trl.parquet", "hh.trl.jsonl"]:
        overlap(db, "dataset", "export", "hh", "--output", str(tmp_path / name))

    def lines(name):
        with open(tmp_path / name, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    trl = pq.read_table(tmp_path / "hh.trl.parquet")
    assert trl.schema.names == ["prompt", "chosen", "rejected"]
    assert trl.to_pylist() == lines("hh.trl.jsonl")

    records = pd.read_parquet(tmp_path / "hh.parquet")
    expected = lines("hh.jsonl")
    assert len(records) == len(expected) == 2312
    first = records.iloc[0]
    assert first["id"] == expected[0]["id"]
    assert first["label"] == expected[0]["label"]
    assert first["a"]["text"] == expected[0]["a"]["text"]
    features = expected[0]["a"]["features"]
    assert dict(first["a"]["features"]) == pytest.approx(features, rel=0, abs=0)


def test_trl_parquet_reimports_to_the_original_digest(db, tmp_path):
    original = imported(db, "hh", HH)
    overlap(db, "dataset", "export", "hh", "--output", str(tmp_path / "hh.trl.parquet"))
    again = imported(db, "hh-again", tmp_path / "hh.trl.parquet")
    assert again["digest"] == original["digest"]
