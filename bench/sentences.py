"""Which sentence splitter for operative reports: ours, spaCy's sentencizer or PyRuSH (issue 2).

    .venv/bin/python bench/sentences.py

For each splitter the whole pipeline is built with it and run over the train and dev notes of the
corpus (never test): time per note of the splitter alone and of the pipeline, and the downstream
figures that depend on sentences (code exact match, vessel F1, linked vessel-mention F1).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from api.coding import Coder
    from models.evaluation import Prediction, evaluate
    from nlp.pipeline import SENTENCE_SPLITTERS, Extractor, build_pipeline
    from nlp.sentences import unwrap_lines
    from rules_core.gold import read_jsonl

    docs = [d for split in ("train", "dev") for d in read_jsonl(ROOT / "corpus" / f"{split}.jsonl")]
    rows = {}
    for name in SENTENCE_SPLITTERS:
        nlp = build_pipeline(splitter=name)
        splitter = nlp.pipeline[0][1]
        coder = Coder(Extractor(nlp))
        texts = [unwrap_lines(d["text"]) for d in docs]
        tokenized = [nlp.make_doc(t) for t in texts]
        start = time.perf_counter()
        for doc in tokenized:
            splitter(doc)
        split_s = time.perf_counter() - start
        start = time.perf_counter()
        predictions = []
        for d in docs:
            coded = coder.code_facts(d["text"], document_id=d["id"])
            predictions.append(Prediction(coded.facts, coded.result))
        pipeline_s = time.perf_counter() - start
        report = evaluate(docs, predictions, "sir")
        rows[name] = {
            "splitter_ms_per_note": round(1000 * split_s / len(docs), 3),
            "pipeline_ms_per_note": round(1000 * pipeline_s / len(docs), 3),
            "code_exact_match": report["code_exact_match"],
            "vessel_f1": report["vessel"]["f1"],
            "linked_mention_f1": report["linked_mentions"]["f1"],
            "link_f1": report["links"]["f1"],
        }
    print(json.dumps({"documents": len(docs), "splitters": rows}, indent=2))


if __name__ == "__main__":
    main()
