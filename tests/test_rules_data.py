"""The rule and data files: they load, validate, and refuse malformed content with a numbered error."""

from __future__ import annotations

import pytest

from nlp.rules_io import context_rules, cues, section_rules, target_rules
from rules_core import load_ontology, load_policies
from rules_core.errors import RuleFileError
from rules_core.ontology import VesselFile, validate_model
from rules_core.version import ruleset_version


def test_ontology_loads_with_unique_ids_and_derived_terms():
    ontology = load_ontology()
    assert "vein.common_iliac" in ontology.vessels and "coronary.lad" in ontology.coronaries
    surfaces = {t.text for t in ontology.terms}
    for form in (
        "CIV",
        "common iliac vein",
        "common iliac veins",
        "LCIV",
        "RCFA",
        "IVC",
        "innominate vein",
        "LAD",
    ):
        assert form in surfaces
    assert all(c in ontology.vessels for g in ontology.generics.values() for c in g.covers)


def test_flow_path_between_vessels():
    ontology = load_ontology()
    path = ontology.path_between("vein.popliteal", "left", "vein.inferior_vena_cava", None)
    assert [node for node, _ in path] == [
        "vein.popliteal",
        "vein.femoral",
        "vein.common_femoral",
        "vein.external_iliac",
        "vein.common_iliac",
        "vein.inferior_vena_cava",
    ]
    assert path[0][1] == "left"
    assert ontology.path_between("artery.aorta", None, "vein.inferior_vena_cava", None) is None
    right_subclavian = ontology.path_between("artery.aorta", None, "artery.subclavian", "right")
    assert [n for n, _ in right_subclavian] == [
        "artery.aorta",
        "artery.brachiocephalic",
        "artery.subclavian",
    ]


def test_policies_and_settings():
    policies = load_policies()
    assert policies.default == "sir"
    sir, named = policies.get("sir"), policies.get("named-vessel")
    assert sir.group_of("artery.popliteal", "left") == "artery.superficial_femoral+popliteal.left"
    assert named.group_of("artery.popliteal", "left") == "artery.popliteal.left"
    with pytest.raises(ValueError, match="E005"):
        policies.settings(documentation="lenient")
    with pytest.raises(ValueError, match="E006"):
        policies.settings(mue_37253=0)


def test_malformed_vessel_table_is_refused_with_a_numbered_error():
    data = load_ontology().data.model_dump(by_alias=True)
    data["vessels"][0]["system"] = "lymphatic"
    with pytest.raises(RuleFileError, match="E002"):
        validate_model(VesselFile, data, "vessels.json")


def test_extraction_rule_files_load():
    assert len(target_rules()) > 50
    assert len(context_rules()) > 100
    assert len(section_rules()) > 100
    assert "via" in cues().access_before


def test_ruleset_version_names_core_and_extractor():
    version = ruleset_version("nlp.abc")
    assert "+core." in version and version.endswith(".nlp.abc")


def test_the_extractor_version_digests_every_extractor_module():
    """A module left out of the digest could change results without changing the version."""
    from pathlib import Path

    import nlp
    from nlp.rules_io import EXTRACTOR_MODULES

    modules = {p.stem for p in Path(nlp.__file__).parent.glob("*.py")} - {"__init__"}
    assert set(EXTRACTOR_MODULES) == modules


def test_the_core_version_changes_with_the_coding_code(monkeypatch):
    import rules_core.version as version

    before = version.core_version()
    version.core_version.cache_clear()
    real = version.source_bytes
    monkeypatch.setattr(version, "source_bytes", lambda p, m: real(p, m) + b"# edited\n")
    try:
        assert version.core_version() != before
    finally:
        version.core_version.cache_clear()


def test_exact_alternatives_spell_out_in_sets():
    from nlp.rules_io import exact_alternatives

    pattern = [{"LOWER": {"IN": ["no", "neither"]}}, {"IS_ALPHA": True}, {"LOWER": "or"}]
    assert exact_alternatives(pattern) == [
        [{"LOWER": "no"}, {"IS_ALPHA": True}, {"LOWER": "or"}],
        [{"LOWER": "neither"}, {"IS_ALPHA": True}, {"LOWER": "or"}],
    ]
    wide = [{"SHAPE": {"IN": [str(i) for i in range(10)]}}] * 3
    assert exact_alternatives(wide, limit=64) == [wide]


def test_context_rules_keep_their_matches_when_spelled_out(coder):
    doc = coder.extractor.nlp(
        "IVUS was performed in 2019 at another hospital. No IVUS or OCT today."
    )
    from nlp.state import state_of

    assert [t.assertion for t in state_of(doc).ivus] == ["historical", "negated"]
