"""The dataset card's Croissant file, validated by mlcroissant (the MLCommons reference library)."""

import json
import logging
import os
import subprocess
from pathlib import Path

import mlcroissant as mlc

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("OVERLAP_BIN", str(ROOT / "target" / "debug" / "overlap"))
HH = ROOT / "tests" / "data" / "hh-rlhf" / "hh-rlhf-harmless-test.jsonl.gz"
POLICY = ROOT / "policies" / "text-release-gate.yaml"


def overlap(db, *args):
    env = dict(os.environ, OVERLAP_ACTOR="interop")
    env.pop("OVERLAP_DB", None)
    done = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"overlap {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def test_mlcroissant_validates_the_card_and_reads_its_records(tmp_path, caplog):
    db = tmp_path / "overlap.db"
    overlap(db, "init")
    overlap(db, "dataset", "import", "hh", str(HH))
    card = tmp_path / "card"
    overlap(db, "report", "card", "hh", "--policy", str(POLICY), "--output", str(card), "--license", "mit")
    with caplog.at_level(logging.WARNING):
        dataset = mlc.Dataset(jsonld=str(card / "croissant.json"))
    # Validation raises on errors; the card is complete enough to draw no warning either.
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [w for w in warnings if "warning(s)" in w], warnings
    metadata = dataset.metadata.to_json()
    assert metadata["name"] == "hh@1"
    assert "rai:dataBiases" in json.dumps(metadata) or dataset.metadata.data_biases
    records = list(dataset.records(record_set="comparisons"))
    assert len(records) == 2312
    first = records[0]
    assert first["comparisons/label"] == 1
