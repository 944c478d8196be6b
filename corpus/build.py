"""Compile the annotated note sources into the canonical split files.

    .venv/bin/python corpus/build.py          # writes corpus/train.jsonl, dev.jsonl, test.jsonl

Sources: ``corpus/src/written/train`` and ``corpus/src/written/test`` (hand-written notes; the
test folder is the held-out test split) and ``corpus/src/generated`` (from ``generate.py``).
Every note is validated (offsets, vessel ids, links, expected codes under both policies); any
problem stops the build and is listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rules_core.gold import MarkupError, build_corpus

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    try:
        counts = build_corpus(HERE / "src", HERE)
    except MarkupError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    print(" ".join(f"{split}={n}" for split, n in counts.items()))
