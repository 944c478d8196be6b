"""The deterministic coder, one RULEBOOK rule at a time, on hand-built facts."""

from __future__ import annotations

import dataclasses

import pytest

from rules_core import (
    Assertion,
    CodingSettings,
    ExtentKind,
    IvusCoderError,
    Link,
    MentionKind,
    code_encounter,
)
from tests.facts_builder import NoteBuilder

CIV, EIV, CFV, IVC = (
    "vein.common_iliac",
    "vein.external_iliac",
    "vein.common_femoral",
    "vein.inferior_vena_cava",
)
CIA, EIA, CFA, SFA, POP = (
    "artery.common_iliac",
    "artery.external_iliac",
    "artery.common_femoral",
    "artery.superficial_femoral",
    "artery.popliteal",
)


def codes(result) -> tuple[int, int]:
    return result.codes["37252"], result.codes["37253"]


def flag_codes(result) -> set[str]:
    return {f["code"] for f in result.flags}


def venogram(b: NoteBuilder) -> None:
    b.procedure("venogram", "venography")


def test_one_unit_per_vessel_however_often_imaged():
    """RULEBOOK 3: pre-, mid- and post-stent IVUS of one vessel is one unit (CCO, SIR-QA, SVS)."""
    b = NoteBuilder()
    venogram(b)
    pre = b.ivus("Pre-stent IVUS")
    v1 = b.vessel("left CIV", CIV, side="left", by=(pre,))
    b.finding("MLA 45 mm2", v1)
    post = b.ivus("post-stent IVUS")
    b.vessel("left common iliac vein", CIV, side="left", by=(post,))
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert [u["vessels"] for u in result.units] == [["vein.common_iliac.left"]]


def test_left_and_right_are_different_vessels():
    """RULEBOOK 3 (SMD): bilateral X is two vessels; modifier 50 is never used."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    v = b.vessel("bilateral common iliac veins", CIV, side="bilateral", by=(i,), plural=True)
    b.finding("MLA 90 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 1)
    assert sorted(v["id"] for v in result.vessels) == [
        "vein.common_iliac.left",
        "vein.common_iliac.right",
    ]


def test_plural_paired_vessel_without_side_is_both_sides():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.vessel("common iliac veins", CIV, by=(i,), plural=True)
    assert codes(code_encounter(b.facts())) == (1, 1)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("sir", (1, 1)), ("named-vessel", (1, 3))],
)
def test_policy_groups_eia_cfa_and_sfa_popliteal(policy, expected):
    """RULEBOOK 3.1: sir groups EIA+CFA and SFA+popliteal; named-vessel counts each."""
    b = NoteBuilder()
    b.procedure("angiogram", "angiography")
    i = b.ivus()
    for words, base in (("right EIA", EIA), ("CFA", CFA), ("SFA", SFA), ("popliteal artery", POP)):
        v = b.vessel(words, base, side="right", by=(i,))
        b.finding("MLA 20 mm2", v)
    result = code_encounter(b.facts(), policy)
    assert codes(result) == expected
    assert result.policy == policy


def test_sir_groups_are_per_side():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.vessel("left EIV", EIV, side="left", by=(i,))
    b.vessel("right CFV", CFV, side="right", by=(i,))
    result = code_encounter(b.facts())
    assert codes(result) == (1, 1)
    assert sorted(u["group"] for u in result.units) == [
        "vein.external_iliac+common_femoral.left",
        "vein.external_iliac+common_femoral.right",
    ]


def test_forum_case_ivc_and_four_iliac_veins():
    """RULEBOOK 8: IVC, R CIV, R EIV, L CIV, L EIV measured → sir 37252×1 + 37253×4."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    for words, base, side in (
        ("IVC", IVC, None),
        ("R CIV", CIV, "right"),
        ("R EIV", EIV, "right"),
        ("L CIV", CIV, "left"),
        ("L EIV", EIV, "left"),
    ):
        v = b.vessel(words, base, side=side, by=(i,))
        b.finding("area 150 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 4)
    assert result.units[0]["code"] == "37252"
    assert all(u["code"] == "37253" for u in result.units[1:])


def test_continuous_lesion_merges_vessels():
    """RULEBOOK 3.2 (SVS): an EIV stenosis continuing into the CIV is one vessel."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.text("stenosis from the ")
    a = b.vessel("left external iliac vein", EIV, side="left", by=(i,))
    b.text("into the ")
    c = b.vessel("common iliac vein", CIV, side="left", by=(i,))
    b.finding("MLA 50 mm2", c)
    b.extent(a, c, ExtentKind.LESION)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert (
        result.units[0]["merged_by"]["text"]
        == "left external iliac vein into the common iliac vein"
    )


def test_separate_lesions_are_not_merged():
    """RULEBOOK 3.2 (SIR-QA): a CIA lesion and a separate SFA lesion are two vessels."""
    b = NoteBuilder()
    b.procedure("angiogram", "angiography")
    i = b.ivus()
    v1 = b.vessel("right CIA", CIA, side="right", by=(i,))
    b.finding("MLA 20 mm2", v1)
    v2 = b.vessel("right SFA", SFA, side="right", by=(i,))
    b.finding("MLA 12 mm2", v2)
    assert codes(code_encounter(b.facts())) == (1, 1)


def test_long_continuous_thrombus_is_one_vessel_and_flagged():
    """RULEBOOK 3.2 (CCO): DVT from the popliteal vein through the IVC imaged as one segment."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.text("thrombus from the ")
    a = b.vessel("left popliteal vein", "vein.popliteal", side="left", by=(i,))
    b.text("through the ")
    c = b.vessel("IVC", IVC, by=(i,))
    b.finding("occlusive thrombus", c, kind="morphology")
    b.extent(a, c, ExtentKind.LESION)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert "long-merge" in flag_codes(result)
    assert len(result.units[0]["vessels"]) == 6


def test_imaging_extent_counts_the_vessels_between_its_ends():
    """RULEBOOK 5: vessels named through an extent ('pullback from X to Y') were examined."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    a = b.vessel("IVC", IVC, by=(i,))
    b.text("to the ")
    c = b.vessel("left CFV", CFV, side="left", by=(i,))
    b.extent(a, c, ExtentKind.IMAGING)
    result = code_encounter(b.facts())
    assert sorted(v["id"] for v in result.vessels) == [
        "vein.common_femoral.left",
        "vein.common_iliac.left",
        "vein.external_iliac.left",
        IVC,
    ]
    assert codes(result) == (1, 2)


def test_coronary_vessels_are_excluded():
    """RULEBOOK 2: coronary IVUS is 92978/92979, never +37252/+37253."""
    b = NoteBuilder()
    b.procedure("coronary angiography", "angiography")
    i = b.ivus()
    b.vessel("LAD", "coronary.lad", by=(i,), kind=MentionKind.CORONARY)
    b.vessel("RCA", "coronary.rca", by=(i,), kind=MentionKind.CORONARY)
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert [(e["text"], e["reason"], e["see_code"]) for e in result.excluded] == [
        ("LAD", "coronary", "92978"),
        ("RCA", "coronary", "92978"),
    ]
    assert "ivus-without-vessel" not in flag_codes(result)


@pytest.mark.parametrize(
    ("kind", "see_code"),
    [("ice", "93662"), ("us-guided-access", "76937"), ("duplex", None), ("pressure", None)],
)
def test_non_ivus_modalities_are_excluded(kind, see_code):
    b = NoteBuilder()
    b.modality("the modality", kind)
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert result.excluded[0]["reason"] == "not-ivus"
    assert result.excluded[0].get("see_code") == see_code


def test_noncoronary_oct_is_flagged():
    b = NoteBuilder()
    b.modality("OCT", "oct")
    assert "oct-not-ivus" in flag_codes(code_encounter(b.facts()))


@pytest.mark.parametrize(
    "service",
    [
        "ivc-filter-placement",
        "ivc-filter-repositioning",
        "ivc-filter-retrieval",
        "foreign-body-retrieval",
    ],
)
def test_bundled_services_suppress_ivus(service):
    """RULEBOOK 4 (CCO, SMD): services that include IVUS leave no IVUS units."""
    b = NoteBuilder()
    b.procedure("the service", service)
    i = b.ivus()
    v = b.vessel("IVC", IVC, by=(i,))
    b.finding("area 240 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert result.units == []
    assert [s["service"] for s in result.suppressed] == [service]
    assert result.vessels[0]["id"] == IVC  # still reported as examined
    assert "bundled-ivus-other-vessels" not in flag_codes(result)


def test_bundled_service_with_unrelated_vessels_is_flagged():
    b = NoteBuilder()
    b.procedure("IVC filter retrieval", "ivc-filter-retrieval")
    i = b.ivus()
    b.vessel("IVC", IVC, by=(i,))
    b.vessel("left CIV", CIV, side="left", by=(i,))
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert "bundled-ivus-other-vessels" in flag_codes(result)


def test_historical_filter_placement_does_not_suppress():
    b = NoteBuilder()
    b.procedure("prior IVC filter placement", "ivc-filter-placement", Assertion.HISTORICAL)
    venogram(b)
    i = b.ivus()
    v = b.vessel("IVC", IVC, by=(i,))
    b.finding("area 240 mm2", v)
    assert codes(code_encounter(b.facts())) == (1, 0)


@pytest.mark.parametrize(
    ("assertion", "reason"),
    [
        (Assertion.NEGATED, "negated"),
        (Assertion.HYPOTHETICAL, "planned"),
        (Assertion.HISTORICAL, "historical"),
        (Assertion.NO_IMAGES, "no-images"),
    ],
)
def test_only_ivus_done_in_this_encounter_counts(assertion, reason):
    """RULEBOOK 5: negated, planned, historical and failed IVUS is excluded with its reason."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus("IVUS", assertion)
    b.vessel("left CIV", CIV, side="left", by=(i,))
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert result.excluded[0]["reason"] == reason


def test_missing_finding_is_flagged_by_default_and_dropped_in_strict_mode():
    """RULEBOOK 5: count and flag no-ivus-finding (default); strict does not count."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    v = b.vessel("left CIV", CIV, side="left", by=(i,))
    b.finding("MLA 50 mm2", v)
    b.vessel("IVC", IVC, by=(i,))
    default = code_encounter(b.facts())
    assert codes(default) == (1, 1)
    assert [f["group"] for f in default.flags if f["code"] == "no-ivus-finding"] == [IVC]
    strict = code_encounter(b.facts(), settings=CodingSettings(documentation="strict"))
    assert codes(strict) == (1, 0)
    assert any(e["reason"] == "no-ivus-finding" for e in strict.excluded)
    assert strict.settings == {"documentation": "strict", "mue_37253": 5}


def test_ivus_without_vessel_is_a_query():
    b = NoteBuilder()
    venogram(b)
    b.ivus("IVUS")
    result = code_encounter(b.facts())
    assert codes(result) == (0, 0)
    assert flag_codes(result) == {"ivus-without-vessel"}


def test_missing_side_counts_once_and_is_flagged():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    v = b.vessel("common iliac vein", CIV, by=(i,))
    b.finding("MLA 50 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert "laterality-missing" in flag_codes(result)


def test_side_less_mention_is_absorbed_by_a_sided_one():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.vessel("common iliac vein", CIV, by=(i,))
    v = b.vessel("left CIV", CIV, side="left", by=(i,))
    b.finding("MLA 50 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert "laterality-missing" not in flag_codes(result)


def test_generic_name_counts_once_flagged_unless_a_specific_vessel_is_named():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.vessel("left iliac vein", "vein.iliac", side="left", by=(i,), kind=MentionKind.GENERIC)
    alone = code_encounter(b.facts())
    assert codes(alone) == (1, 0)
    assert "vessel-unspecific" in flag_codes(alone)
    b.vessel("left CIV", CIV, side="left", by=(i,))
    b.vessel("left EIV", EIV, side="left", by=(i,))
    both = code_encounter(b.facts())
    assert codes(both) == (1, 1)
    assert "vessel-unspecific" not in flag_codes(both)


def test_system_neutral_name_takes_the_hint_or_is_flagged():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.vessel("common iliac", CIA, CIV, side="left", by=(i,), system_hint="vein")
    hinted = code_encounter(b.facts())
    assert hinted.vessels[0]["id"] == "vein.common_iliac.left"
    b2 = NoteBuilder()
    i2 = b2.ivus()
    b2.vessel("common iliac", CIA, CIV, side="left", by=(i2,))
    guessed = code_encounter(b2.facts())
    assert "system-unknown" in flag_codes(guessed)


def test_mue_is_flagged_but_units_are_emitted():
    """RULEBOOK 6: 37253 above the MUE → the documented units and exceeds-mue."""
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    for base in (CIV, EIV, CFV, "vein.femoral", "vein.popliteal"):
        for side in ("left", "right"):
            v = b.vessel(f"{side} {base}", base, side=side, by=(i,))
            b.finding("area 100 mm2", v)
    named = code_encounter(b.facts(), "named-vessel")
    assert codes(named) == (1, 9)
    assert "exceeds-mue" in flag_codes(named)
    relaxed = code_encounter(b.facts(), "named-vessel", settings=CodingSettings(mue_37253=10))
    assert "exceeds-mue" not in flag_codes(relaxed)


def test_add_on_without_primary_procedure_is_flagged():
    """RULEBOOK 1, 6: +37252/+37253 need a primary procedure."""
    b = NoteBuilder()
    i = b.ivus()
    v = b.vessel("left CIV", CIV, side="left", by=(i,))
    b.finding("MLA 50 mm2", v)
    result = code_encounter(b.facts())
    assert codes(result) == (1, 0)
    assert "no-primary-procedure" in flag_codes(result)


def test_stated_count_that_differs_is_flagged():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    b.stated("2 vessels", 2)
    for base in (IVC, CIV):
        v = b.vessel(base, base, side="left" if base == CIV else None, by=(i,))
        b.finding("area 100 mm2", v)
    b.vessel("left CFV", CFV, side="left", by=(i,))
    result = code_encounter(b.facts())
    assert codes(result) == (1, 2)
    assert "count-mismatch" in flag_codes(result)


def test_result_carries_policy_version_and_sorted_evidence():
    b = NoteBuilder()
    venogram(b)
    i = b.ivus()
    v = b.vessel("left CIV", CIV, side="left", by=(i,))
    b.finding("MLA 50 mm2", v)
    result = code_encounter(b.facts(), "sir", document_id="doc-1").to_dict()
    assert result["document_id"] == "doc-1"
    assert result["policy"] == "sir"
    assert result["ruleset_version"].endswith(".test")
    evidence = result["vessels"][0]["evidence"]
    assert [e["role"] for e in evidence] == ["ivus", "vessel", "finding"]
    assert [e["start"] for e in evidence] == sorted(e["start"] for e in evidence)


def test_facts_with_dangling_references_are_refused():
    b = NoteBuilder()
    i = b.ivus()
    b.vessel("left CIV", CIV, side="left", by=(i,))
    broken = dataclasses.replace(b.facts(), links=(Link("i9", "v1", "test"),))
    with pytest.raises(IvusCoderError, match="E008"):
        code_encounter(broken)


def test_unknown_policy_is_refused():
    with pytest.raises(IvusCoderError, match="E004"):
        code_encounter(NoteBuilder().facts(), "nonsense")


def test_side_less_vessel_takes_the_one_side_the_note_examined():
    """A left-leg case naming "the popliteal" without a side counts it on the left."""
    b = NoteBuilder()
    b.procedure("angiogram", "angiography")
    i = b.ivus()
    v = b.vessel("left SFA", SFA, side="left", by=(i,))
    b.finding("MLA 12 mm2", v)
    p = b.vessel("popliteal", POP, by=(i,))
    b.finding("MLA 10 mm2", p)
    result = code_encounter(b.facts())
    assert sorted(v["id"] for v in result.vessels) == [
        "artery.popliteal.left",
        "artery.superficial_femoral.left",
    ]
    assert codes(result) == (1, 0)
    assert "laterality-missing" not in flag_codes(result)
