"""The evaluation harness: metrics on cases with known answers, determinism."""

from __future__ import annotations

import json

from models.evaluation import Prediction, evaluate, match_overlap, prf
from rules_core import code_encounter
from rules_core.gold import compile_note
from tests.facts_builder import NoteBuilder

NOTE = """# id: e-1
# tags: venous
# vessels: vein.common_iliac.left
# merges: none
# suppressed: none
# expected sir: 37252=1 37253=0
# expected named-vessel: 37252=1 37253=0
# flags: none

[[IVUS|IVUS id=i1]] of the [[left CIV|VESSEL id=v1 vessel=vein.common_iliac.left ivus=i1]] showed [[MLA 45 mm2|FINDING kind=area of=v1]].
"""


def perfect_prediction(doc):
    b = NoteBuilder()
    i = b.ivus("IVUS")
    b.text("of the ")
    v = b.vessel("left CIV", "vein.common_iliac", side="left", by=(i,))
    b.text("showed ")
    b.finding("MLA 45 mm2", v)
    b.parts[-1] = ".\n"
    assert b.note == doc["text"]
    facts = b.facts()
    return Prediction(facts, code_encounter(facts).to_dict())


def test_prf_from_counts():
    assert prf(8, 2, 2)["f1"] == 0.8
    assert prf(0, 0, 0)["f1"] == 1.0


def test_overlap_matching_is_one_to_one():
    gold = [{"id": "g1", "start": 0, "end": 10}, {"id": "g2", "start": 20, "end": 30}]
    pred = [
        {"id": "p1", "start": 2, "end": 8},
        {"id": "p2", "start": 5, "end": 12},
        {"id": "p3", "start": 40, "end": 45},
    ]
    assert match_overlap(gold, pred) == {"p1": "g1"}


def test_perfect_prediction_scores_one():
    doc = compile_note(NOTE, split="test")
    report = evaluate([doc], [perfect_prediction(doc)], "sir")
    assert report["code_exact_match"] == 1.0
    assert report["unit_mae"] == 0.0
    assert report["vessel"]["f1"] == 1.0
    assert report["links"]["f1"] == 1.0
    assert report["spans"]["VESSEL"]["exact"]["f1"] == 1.0
    assert report["assertion"]["accuracy"] == 1.0
    assert report["errors"] == []


def test_errors_are_counted_and_listed():
    doc = compile_note(NOTE, split="test")
    b = NoteBuilder()
    b.ivus("IVUS")
    b.text("of the left CIV showed MLA 45 mm2.")
    facts = b.facts()
    report = evaluate([doc], [Prediction(facts, code_encounter(facts).to_dict())], "sir")
    assert report["code_exact_match"] == 0.0
    assert report["unit_mae"] == 1.0
    assert report["vessel"]["recall"] == 0.0
    assert report["links"]["fn"] == 1
    kinds = {e["kind"] for e in report["errors"]}
    assert {"codes", "vessel-fn", "link-fn", "span-fn"} <= kinds


def test_report_is_deterministic():
    doc = compile_note(NOTE, split="test")
    one = json.dumps(evaluate([doc], [perfect_prediction(doc)], "sir"))
    two = json.dumps(evaluate([doc], [perfect_prediction(doc)], "sir"))
    assert one == two
