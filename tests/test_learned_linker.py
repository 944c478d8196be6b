"""The learned vessel linker: features, decisions, weights validation, byte-for-byte training
reproduction and the --linker option (models/CARD.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.errors import ModelFileError
from models.linker_model import (
    DEFAULT_WEIGHTS,
    load_linker_model,
    mention_groups,
    mention_matrix,
    parse_weights,
)
from models.linker_spec import feature_names, mention_feature_names, rule_feature, spec_digest

ROOT = Path(__file__).resolve().parents[1]
NOTE = """PROCEDURES PERFORMED:
1. Left lower extremity venogram.
2. IVUS of the IVC and left common iliac vein.

TECHNIQUE:
Access was obtained via the right common femoral vein. IVUS of the left common iliac vein showed an MLA of 45 mm2 with 70% area reduction. The IVC measured 220 mm2.
"""


@pytest.fixture(scope="module")
def extractors():
    from nlp.pipeline import Extractor

    return {mode: Extractor(linker=mode) for mode in ("rules", "model", "hybrid")}


@pytest.fixture(scope="module")
def features(extractors):
    from nlp.learned_linker import DocFeatures
    from nlp.state import state_of

    doc = extractors["rules"].process(NOTE)
    table = DocFeatures(doc, state_of(doc))

    def pair(ivus_start: int, vessel_text: str, occurrence: int = 0) -> dict[str, float]:
        found = [
            (t, m)
            for t, m in table.candidates()
            if doc[t.start].idx >= ivus_start and doc[m.start : m.end].text == vessel_text
        ]
        ivus, mention = found[occurrence]
        row = table.row(ivus, mention)
        return dict(zip(feature_names(), row.tolist(), strict=True))

    return pair


@pytest.fixture(scope="module")
def shipped_bytes() -> bytes:
    return DEFAULT_WEIGHTS.read_bytes()


# --- the feature specification -------------------------------------------------------------
def test_feature_names_are_unique_and_rule_features_are_marked():
    names = feature_names()
    assert len(names) == len(set(names))
    assert {n for n in names if rule_feature(n)} == {n for n in names if n.startswith("rule_")}
    assert len(mention_feature_names()) == 2 * len(names)
    assert rule_feature("nearest:rule_linked") and not rule_feature("any:same_clause")
    assert spec_digest().startswith("linker-features/1.")


def test_list_item_features(features):
    list_ivus = NOTE.index("IVUS")
    ivc = features(list_ivus, "IVC")
    assert ivc["same_clause"] == ivc["list_chain_from_ivus"] == 1.0
    assert ivc["vessel_section=procedures"] == ivc["ivus_section=procedures"] == 1.0
    assert ivc["vessel_previous_word=of"] == 1.0
    assert ivc["rule_linked"] == ivc["rule_basis=same-sentence"] == 1.0
    civ = features(list_ivus, "left common iliac vein")
    assert civ["list_chain_from_ivus"] == 1.0 and civ["log_list_position"] == pytest.approx(
        math.log1p(1)
    )


def test_narrative_features(features):
    narrative = NOTE.index("IVUS of the left")
    access = features(narrative, "right common femoral vein")
    assert access["vessel_role=access"] == 1.0
    assert access["vessel_after_ivus"] == 0.0 and access["unit_distance=before"] == 1.0
    assert access["vessel_previous_word=via"] == 1.0 and access["rule_linked"] == 0.0
    civ = features(narrative, "left common iliac vein")
    assert civ["finding_within_6_after"] == civ["vessel_clause_finding"] == 1.0
    assert civ["nearest_preceding_affirmed_ivus"] == 1.0
    follow = features(narrative, "IVC")
    assert follow["unit_distance=1"] == 1.0 and follow["same_sentence"] == 0.0
    assert follow["rule_basis=follow-on"] == 1.0


def test_candidates_pair_affirmed_ivus_with_vessels_of_its_section(extractors):
    from nlp.learned_linker import DocFeatures
    from nlp.state import state_of

    doc = extractors["rules"].process(
        NOTE + "\nPLAN:\nRepeat IVUS of the right CIV if symptoms recur.\n"
    )
    table = DocFeatures(doc, state_of(doc))
    pairs = table.candidates()
    state = state_of(doc)
    assert pairs and all(t.assertion == "affirmed" for t, _ in pairs)
    for ivus, mention in pairs:
        section = state.section_of[mention.start]
        assert section in (state.section_of[ivus.start], "ivus_findings")
    assert "right CIV" not in {doc[m.start : m.end].text for _, m in pairs}


def test_mention_matrix_takes_maximum_and_nearest_pair():
    names, index = mention_groups(["v1", "v2", "v1"])
    assert names == ["v1", "v2"]
    width = len(feature_names())
    pairs = np.zeros((3, width))
    near = feature_names().index("nearest_affirmed_ivus")
    clause = feature_names().index("same_clause")
    pairs[0, clause] = 1.0
    pairs[2, near] = 1.0
    pairs[2, 0] = 7.0
    out = mention_matrix(pairs, index, 2)
    assert out.shape == (2, 2 * width)
    assert out[0, clause] == 1.0 and out[0, 0] == 7.0  # any: the maximum over both pairs
    assert out[0, width + 0] == 7.0 and out[0, width + clause] == 0.0  # nearest: pair 3
    assert out[1].sum() == 0.0


# --- decisions -----------------------------------------------------------------------------
def test_each_linker_codes_the_note(extractors):
    for mode, extractor in extractors.items():
        facts = extractor.extract(NOTE)
        facts.validate()  # findings and links refer to known mentions
        linked = {
            facts.vessels[[v.id for v in facts.vessels].index(k.vessel)].span.text
            for k in facts.links
        }
        assert "right common femoral vein" not in linked, mode
        assert {"IVC", "left common iliac vein"} <= linked, mode


def test_hybrid_keeps_the_rule_basis_and_model_says_how_sure(extractors):
    hybrid = extractors["hybrid"].extract(NOTE)
    assert {k.basis for k in hybrid.links} <= {"same-sentence", "follow-on", "antecedent"} | {
        k.basis for k in hybrid.links if k.basis.startswith("hybrid p=")
    }
    model = extractors["model"].extract(NOTE)
    assert all(k.basis.startswith("model p=") for k in model.links)


def test_same_weights_same_links(extractors):
    from nlp.pipeline import Extractor

    again = Extractor(linker="hybrid")
    for text in (NOTE, NOTE.replace("IVC", "inferior vena cava")):
        assert again.extract(text) == extractors["hybrid"].extract(text)


def test_findings_follow_the_learned_links(extractors):
    facts = extractors["model"].extract(NOTE)
    linked = {k.vessel for k in facts.links}
    assert facts.findings
    assert all(set(f.vessels) <= linked for f in facts.findings)


def test_extractor_version_names_the_linker_and_the_weights(extractors, shipped_bytes):
    from models.linker_model import weights_digest
    from nlp.rules_io import rules_version

    digest = weights_digest(shipped_bytes)
    assert extractors["rules"].version == rules_version()
    assert extractors["model"].version == f"{rules_version()}.model-{digest}"
    assert extractors["hybrid"].version == f"{rules_version()}.hybrid-{digest}"
    facts = extractors["model"].extract(NOTE)
    assert facts.extractor_version == extractors["model"].version
    assert extractors["rules"].extract(NOTE).extractor_version == rules_version()


def test_default_extractor_version_matches_the_default_linker():
    from nlp.pipeline import DEFAULT_LINKER, Extractor
    from nlp.rules_io import extractor_version

    assert Extractor().linker == DEFAULT_LINKER
    assert Extractor().version == extractor_version()


def test_pipeline_option_places_the_learned_linker_after_the_rules():
    from nlp.pipeline import build_pipeline

    assert "ivus_learned_linker" not in build_pipeline(linker="rules").pipe_names
    names = build_pipeline(linker="model").pipe_names
    assert names[-2:] == ["ivus_linker", "ivus_learned_linker"]
    with pytest.raises(ModelFileError) as info:
        build_pipeline(linker="neural")
    assert info.value.code == "E205"


def test_cli_takes_the_linker_option():
    from api.cli import _load_extra_commands, build_parser

    _load_extra_commands()
    parser = build_parser()
    for argv in (
        ["code", "x.txt", "--linker", "model"],
        ["explain", "x.txt", "--linker", "hybrid"],
        ["evaluate", "--gold", "g.jsonl", "--linker", "rules"],
    ):
        assert parser.parse_args(argv).linker == argv[-1]
    args = parser.parse_args(["train-linker", "--out", "w.json", "--corpus", "c"])
    assert (args.out, args.corpus) == ("w.json", "c")
    with pytest.raises(SystemExit):
        parser.parse_args(["code", "x.txt", "--linker", "neural"])


def test_scoring_needs_no_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from nlp.pipeline import Extractor\n"
        "facts = Extractor(linker='hybrid').extract('IVUS of the left CIV: MLA 45 mm2.')\n"
        "assert facts.links, facts\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# --- weights validation --------------------------------------------------------------------
def _weights(shipped_bytes: bytes) -> dict:
    return json.loads(shipped_bytes)


def _code(raw: bytes) -> str:
    with pytest.raises(ModelFileError) as info:
        parse_weights(raw, "test.json")
    return info.value.code


def test_shipped_weights_load_and_carry_their_provenance(shipped_bytes):
    model = load_linker_model()
    assert set(model.heads) == {"model", "hybrid"}
    assert not any(rule_feature(n) for n in model.head("model").pair.features)
    assert any(rule_feature(n) for n in model.head("hybrid").mention.features)
    data = _weights(shipped_bytes)
    assert data["training"]["splits"] == ["train"]
    assert {"scikit-learn", "numpy", "python"} <= set(data["versions"])
    assert data["training"]["corpus_digest"] and data["training"]["examples_digest"]


def test_invalid_weights_fail_with_numbered_errors(shipped_bytes, tmp_path):
    assert _code(b"{not json") == "E201"
    assert _code(b"[]") == "E201"
    data = _weights(shipped_bytes)
    del data["heads"]["model"]["pair"]["intercept"]
    assert _code(json.dumps(data).encode()) == "E202"
    data = _weights(shipped_bytes)
    data["heads"]["hybrid"]["pair"]["coefficients"].pop()
    assert _code(json.dumps(data).encode()) == "E202"
    data = _weights(shipped_bytes)
    data["heads"]["model"]["mention"]["scaler_scale"][0] = 0.0
    assert _code(json.dumps(data).encode()) == "E202"
    data = _weights(shipped_bytes)
    data["heads"]["model"]["pair"]["features"][0] = "no_such_feature"
    assert _code(json.dumps(data).encode()) == "E202"
    data = _weights(shipped_bytes)
    data["heads"]["model"]["pair"]["threshold"] = 1.5
    assert _code(json.dumps(data).encode()) == "E202"
    raw = shipped_bytes.replace(b'"intercept": ', b'"intercept": NaN, "x": ', 1)
    assert _code(raw) in {"E201", "E202"}
    data = _weights(shipped_bytes)
    data["heads"]["neural"] = data["heads"]["model"]
    assert _code(json.dumps(data).encode()) == "E202"
    data = _weights(shipped_bytes)
    data["feature_spec"]["digest"] = "linker-features/0.abc"
    assert _code(json.dumps(data).encode()) == "E203"
    with pytest.raises(ModelFileError) as info:
        load_linker_model().head("rules")
    assert info.value.code == "E204"
    with pytest.raises(ModelFileError) as info:
        load_linker_model(tmp_path / "missing.json")
    assert info.value.code == "E201"


def test_a_broken_weights_file_stops_the_pipeline_build(tmp_path):
    from nlp.pipeline import build_pipeline

    path = tmp_path / "linker.json"
    path.write_text('{"schema": "ivus-coder.linker-weights/1"}', "utf-8")
    with pytest.raises(ModelFileError) as info:
        build_pipeline(linker="hybrid", linker_weights=str(path))
    assert info.value.code == "E202"


# --- training ------------------------------------------------------------------------------
def test_training_is_deterministic_and_never_uses_test(extractors):
    from api.train_cli import _splits, read_corpus
    from models.linker_training import build_weights, dumps_weights
    from nlp.learned_linker import training_set

    docs = read_corpus(ROOT / "corpus", ["train"])[:30]
    runs = [
        dumps_weights(build_weights(training_set(docs, extractors["rules"]), ["train"]))
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    with pytest.raises(ModelFileError):
        _splits("train,test")


def test_train_linker_reproduces_the_shipped_weights_byte_for_byte(shipped_bytes):
    """The shipped weights are what 'ivus-coder train-linker' gives on this corpus and code.

    When this fails after a corpus or rule change, the shipped weights are stale: run
    'ivus-coder train-linker' (and review models/CARD.md). When the training data digests are
    the same and the bytes still differ, training is not deterministic: a real bug."""
    from api.train_cli import SOURCE_CORPUS, train_weights

    text, weights = train_weights(SOURCE_CORPUS, ["train"])
    if text.encode("utf-8") != shipped_bytes:
        shipped = _weights(shipped_bytes)["training"]
        fresh = weights["training"]
        same_data = all(
            shipped.get(k) == fresh.get(k)
            for k in ("corpus_digest", "examples_digest", "extractor_version")
        )
        reason = (
            "same training data, different bytes: training is not deterministic"
            if same_data
            else "the corpus, the rules or the features changed since the weights were trained: "
            "run 'ivus-coder train-linker'"
        )
        pytest.fail(f"models/weights/linker.json is not reproduced ({reason})")
