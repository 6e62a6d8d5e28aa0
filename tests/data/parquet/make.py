"""Writes the Parquet fixtures of tests/it/parquet.rs with pyarrow (the way Hugging Face and pandas
write them), next to the JSON lines holding the same records, so the tests can check that both
import to one digest. Run from this folder: python make.py (pyarrow >= 14)."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
CHAT = pa.list_(MESSAGE)


def chat_rows(split, n):
    rows = []
    for i in range(n):
        question = f"{split} question {i}: how do I keep a sourdough starter alive?"
        long = "Feed it daily with equal weights of flour and water. " * (1 + i % 4)
        short = "Feed it." if i % 3 else "- feed it\n- keep it warm"
        good, bad = (long, short) if i % 2 else (short, long)
        rows.append(
            {
                "prompt": [{"role": "user", "content": question}],
                "chosen": [{"role": "assistant", "content": good}],
                "rejected": [{"role": "assistant", "content": bad}],
                "source": ["forum", "manual", "chat"][i % 3],
                "score": float(i) / 2,
            }
        )
    return rows


def chat_table(rows):
    table = pa.table(
        {
            "prompt": pa.array([r["prompt"] for r in rows], type=CHAT),
            "chosen": pa.array([r["chosen"] for r in rows], type=CHAT),
            "rejected": pa.array([r["rejected"] for r in rows], type=CHAT),
            # Dictionary-encoded, as pandas writes a categorical column.
            "source": pa.array([r["source"] for r in rows]).dictionary_encode(),
            "score": pa.array([r["score"] for r in rows], type=pa.float32()),
        }
    )
    return table


def write_jsonl(path, rows, keys):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in keys}) + "\n")


def main():
    os.makedirs("hf/data", exist_ok=True)
    train = chat_rows("train", 12)
    # Two shards of the train split and one of the test split, in the Hugging Face layout.
    pq.write_table(chat_table(train[:7]), "hf/data/train-00000-of-00002.parquet", row_group_size=3)
    pq.write_table(chat_table(train[7:]), "hf/data/train-00001-of-00002.parquet")
    pq.write_table(chat_table(chat_rows("test", 4)), "hf/data/test-00000-of-00001.parquet")
    write_jsonl("hf-train.jsonl", train, ["prompt", "chosen", "rejected", "source"])

    # Comparison records with per-side features, nested as the JSONL records are.
    side = pa.struct(
        [
            ("intervention", pa.string()),
            ("features", pa.struct([("length", pa.float64()), ("format", pa.float64())])),
        ]
    )
    records = []
    for i in range(8):
        records.append(
            {
                "id": f"r{i}",
                "bucket": "general" if i < 5 else "safety",
                "group": None if i % 2 else f"g{i // 2}",
                "a": {"intervention": None, "features": {"length": float(i), "format": float(i % 3)}},
                "b": {"intervention": None, "features": {"length": float(7 - i), "format": float((i + 1) % 2)}},
                "label": i % 2,
            }
        )
    table = pa.table(
        {
            "id": pa.array([r["id"] for r in records]),
            "bucket": pa.array([r["bucket"] for r in records]),
            "group": pa.array([r["group"] for r in records]),
            "a": pa.array([r["a"] for r in records], type=side),
            "b": pa.array([r["b"] for r in records], type=side),
            "label": pa.array([r["label"] for r in records], type=pa.int64()),
        }
    )
    pq.write_table(table, "records.parquet")
    with open("records.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            r = {k: v for k, v in r.items() if v is not None}
            f.write(json.dumps(r) + "\n")

    # Text pairs with a problem in row 3 (no rejected response) and a timestamp column.
    pairs = pa.table(
        {
            "prompt": ["p1", "p2", "p3", "p4"],
            "chosen": ["yes", "sure", "ok", "fine"],
            "rejected": ["no", "nope", None, "bad"],
            "when": pa.array([0, 1, 2, 3], type=pa.timestamp("s")),
        }
    )
    pq.write_table(pairs, "bad-row.parquet")


if __name__ == "__main__":
    main()
