"""The gold corpus format: markup, validation, expected codes, splits, brat round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules_core.brat import export_brat, import_brat
from rules_core.gold import (
    MarkupError,
    compile_note,
    expected_codes,
    parse_markup,
    read_jsonl,
    split_of,
    validate_document,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

NOTE = """# id: t-1
# tags: venous, continuous-lesion
# vessels: vein.common_iliac.left, vein.external_iliac.left
# merges: vein.common_iliac.left + vein.external_iliac.left
# suppressed: none
# expected sir: 37252=1 37253=0
# expected named-vessel: 37252=1 37253=0
# flags: none

[[IVUS|IVUS id=i1]] showed a [[stenosis|PATHOLOGY kind=stenosis]] from the [[[[left EIV|VESSEL id=v1 vessel=vein.external_iliac.left ivus=i1]] into the [[CIV|VESSEL id=v2 vessel=vein.common_iliac.left ivus=i1]]|EXTENT kind=lesion from=v1 to=v2]], [[MLA 50 mm2|FINDING kind=area of=v2]].
"""


def test_markup_nests_and_keeps_offsets():
    text, spans = parse_markup(
        "a [[b [[c|VESSEL id=v1 vessel=vein.portal]] d|EXTENT kind=imaging from=v1 to=v1]] e"
    )
    assert text == "a b c d e"
    by_label = {s.label: s for s in spans}
    assert text[by_label["EXTENT"].start : by_label["EXTENT"].end] == "b c d"
    assert by_label["VESSEL"].attrs["vessel"] == ["vein.portal"]


@pytest.mark.parametrize("body", ["[[open|IVUS", "close]]", "[[x|UNKNOWN]]"])
def test_bad_markup_is_refused(body):
    with pytest.raises(MarkupError):
        parse_markup(body)


def test_compiled_note_is_valid():
    doc = compile_note(NOTE, split="train")
    assert validate_document(doc) == []
    assert doc["links"] == [{"ivus": "i1", "vessel": "v1"}, {"ivus": "i1", "vessel": "v2"}]


def test_validation_catches_inconsistent_gold():
    doc = compile_note(
        NOTE.replace("37252=1 37253=0\n# expected named", "37252=1 37253=1\n# expected named"),
        split="train",
    )
    assert any("expected codes under sir" in p for p in validate_document(doc))
    doc = compile_note(
        NOTE.replace(
            "vessels: vein.common_iliac.left,",
            "vessels: vein.common_iliac.right, vein.common_iliac.left,",
        ),
        split="train",
    )
    assert any("not supported by a linked VESSEL" in p for p in validate_document(doc))
    doc = compile_note(NOTE, split="train")
    doc["spans"][0]["start"] += 1
    assert any("offsets do not match" in p for p in validate_document(doc))


@pytest.mark.parametrize(
    ("vessels", "merges", "suppressed", "policy", "expected"),
    [
        (["vein.external_iliac.left", "vein.common_femoral.left"], [], None, "sir", (1, 0)),
        (
            ["vein.external_iliac.left", "vein.common_femoral.left"],
            [],
            None,
            "named-vessel",
            (1, 1),
        ),
        (
            ["vein.common_iliac.left", "vein.external_iliac.left"],
            [["vein.common_iliac.left", "vein.external_iliac.left"]],
            None,
            "sir",
            (1, 0),
        ),
        (["vein.inferior_vena_cava"], [], "ivc-filter-retrieval", "sir", (0, 0)),
        ([], [], None, "sir", (0, 0)),
    ],
)
def test_expected_codes(vessels, merges, suppressed, policy, expected):
    codes = expected_codes(vessels, merges, suppressed, policy)
    assert (codes["37252"], codes["37253"]) == expected


def test_split_assignment_is_fixed():
    assert split_of("anything", "written", "test") == "test"
    assert {split_of(f"w-{n}", "written", "train") for n in range(50)} == {"train", "dev"}
    assert split_of("w-7", "written", "train") == split_of("w-7", "written", "train")


def test_brat_round_trip(tmp_path):
    doc = compile_note(NOTE, split="train")
    export_brat([doc], tmp_path)
    assert (tmp_path / "annotation.conf").exists()
    assert import_brat(tmp_path) == [doc]


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_corpus_split_files_are_valid(split):
    docs = list(read_jsonl(CORPUS / f"{split}.jsonl"))
    assert docs, f"corpus/{split}.jsonl is empty"
    assert all(doc["split"] == split for doc in docs)
    problems = [p for doc in docs for p in validate_document(doc)]
    assert problems == []


def test_corpus_is_large_enough_and_test_is_written_apart():
    docs = [d for split in ("train", "dev", "test") for d in read_jsonl(CORPUS / f"{split}.jsonl")]
    assert len(docs) >= 200
    assert sum(d["source"] == "written" for d in docs) >= 120
    assert len({d["id"] for d in docs}) == len(docs)
