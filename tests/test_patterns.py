"""Each extraction pattern family, on short dictated phrases."""

from __future__ import annotations

import pytest

from nlp.rules_io import ivus_gate, target_rules
from nlp.sentences import unwrap_lines
from nlp.state import state_of


def run(coder, text: str):
    doc = coder.extractor.nlp(unwrap_lines(text))
    return doc, state_of(doc)


def texts(doc, items) -> list[str]:
    return [doc[i.start : i.end].text for i in items]


# --- IVUS --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "phrase",
    [
        "IVUS",
        "intravascular ultrasound",
        "intravascular ultrasonography",
        "intra-vascular ultrasound",
        "intra-vascular ultra sound",
        "intravascular ultra sound",
        "IV US",
        "IVUS'd",
        "intravenous ultrasound",
        "Visions PV .035",
        "Eagle Eye Platinum",
        "Refinity",
        "OptiCross 18",
    ],
)
def test_ivus_names(coder, phrase):
    doc, state = run(coder, f"Then {phrase} of the left CIV was performed.")
    assert texts(doc, state.ivus) == [phrase]


@pytest.mark.parametrize(
    "text", ["The clivus is normal.", "IV fluids were given to us.", "Ultrasound of the groin."]
)
def test_ivus_look_alikes_are_not_ivus(coder, text):
    _, state = run(coder, text)
    assert state.ivus == []


def test_every_ivus_rule_passes_the_gate():
    """A note the gate rejects skips the pipeline, so every IVUS literal must pass the gate."""
    gate = ivus_gate()
    for rule in target_rules():
        if rule.category == "IVUS":
            assert gate.search(rule.literal), rule.literal


def test_the_gate_rejects_notes_without_ivus_words(coder):
    assert not coder.extractor.passes_gate("Ultrasound-guided access of the right CFV; venogram.")
    assert coder.extractor.passes_gate("IVUS of the IVC.")


# --- non-IVUS modalities ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("intracardiac echocardiography", "ice"),
        ("ICE", "ice"),
        ("AcuNav", "ice"),
        ("optical coherence tomography", "oct"),
        ("OCT", "oct"),
        ("venous duplex ultrasound", "duplex"),
        ("ultrasound-guided", "us-guided-access"),
        ("transesophageal echocardiography", "tee"),
        ("pressure pullback", "pressure"),
        ("intravascular pressures", "pressure"),
        ("FFR", "ffr"),
    ],
)
def test_non_ivus_modalities(coder, phrase, kind):
    doc, state = run(coder, f"We used {phrase} today and IVUS later.")
    assert [(doc[m.start : m.end].text, m.kind) for m in state.modalities] == [(phrase, kind)]


def test_ivus_wins_over_the_modality_inside_it(coder):
    doc, state = run(coder, "Intravascular ultrasound-guided stenting of the left CIV.")
    assert texts(doc, state.ivus) == ["Intravascular ultrasound"]
    assert state.modalities == []


# --- pathology, findings, procedures ------------------------------------------------------------
@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("stenosis", "stenosis"),
        ("extrinsic compression", "compression"),
        ("chronic total occlusion", "occlusion"),
        ("acute thrombus", "thrombus"),
        ("dissection", "dissection"),
        ("webs", "web"),
        ("in-stent restenosis", "in-stent-restenosis"),
    ],
)
def test_pathology(coder, phrase, kind):
    doc, state = run(coder, f"IVUS showed {phrase} of the left CIV.")
    assert [(doc[p.start : p.end].text, p.kind) for p in state.pathologies] == [(phrase, kind)]


@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("MLA 46 mm2", "area"),
        ("MLA 46mm2", "area"),
        ("minimal luminal area of 4.6 cm2", "area"),
        ("77% area reduction", "percent"),
        ("MLD 8.2 mm", "diameter"),
        ("well apposed", "apposition"),
        ("fully expanded", "expansion"),
        ("no residual stenosis", "morphology"),
    ],
)
def test_findings_in_an_ivus_sentence(coder, extract, phrase, kind):
    text = f"IVUS of the left CIV showed {phrase}."
    facts = extract(text)
    assert [(f.span.text, f.kind) for f in facts.findings][-1][1] == kind
    assert any(
        phrase.endswith(f.span.text) or f.span.text.endswith(phrase.split()[-1])
        for f in facts.findings
    )
    assert facts.findings[-1].vessels  # attributed to the left CIV


def test_angiographic_findings_are_not_ivus_findings(extract):
    facts = extract(
        "Angiography showed 80% stenosis of the left CIA. IVUS of the left EIA was performed."
    )
    assert facts.findings == ()


@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("left lower extremity venogram", "venography"),
        ("selective catheterization", "catheterization"),
        ("balloon venoplasty", "angioplasty"),
        ("stent placement", "stent"),
        ("mechanical thrombectomy", "thrombectomy"),
        ("IVC filter placement", "ivc-filter-placement"),
        ("retrieval of the Denali IVC filter", "ivc-filter-retrieval"),
        ("IVC filter was repositioned", "ivc-filter-repositioning"),
        ("foreign body retrieval", "foreign-body-retrieval"),
    ],
)
def test_procedures(coder, phrase, kind):
    _, state = run(coder, f"IVUS and {phrase} were done.")
    assert kind in [p.kind for p in state.procedures]


def test_embolic_protection_filter_is_not_an_ivc_filter(coder):
    _, state = run(
        coder, "A Spider FX embolic filter was deployed in the popliteal artery and IVUS done."
    )
    assert not [p for p in state.procedures if p.kind.startswith("ivc-filter")]


# --- assertion ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "assertion"),
    [
        ("IVUS was not performed.", "negated"),
        ("No IVUS was used.", "negated"),
        ("The procedure was done without IVUS.", "negated"),
        ("IVUS was deferred.", "negated"),
        ("Will consider IVUS at the next session.", "hypothetical"),
        ("If IVUS shows compression we will stent.", "hypothetical"),
        ("IVUS is planned.", "hypothetical"),
        ("Prior IVUS in 2024 showed compression.", "historical"),
        ("IVUS at an outside hospital showed a web.", "historical"),
        ("The IVUS catheter could not be advanced across the occlusion.", "attempted-no-images"),
        (
            "IVUS was attempted, but the catheter would not cross the lesion and no images were obtained.",
            "attempted-no-images",
        ),
        ("IVUS showed no residual stenosis.", "affirmed"),
        ("No evidence of thrombus on IVUS.", "affirmed"),
        ("Chronic dissection without change; IVUS confirmed the true lumen.", "affirmed"),
        ("IVUS was performed prior to stenting.", "affirmed"),
    ],
)
def test_assertion(coder, text, assertion):
    _, state = run(coder, text)
    assert [t.assertion for t in state.ivus] == [assertion]


def test_appositive_ivus_names_share_their_assertion(coder):
    _, state = run(
        coder, "We will bring her back for staged evaluation with intravascular ultrasound (IVUS)."
    )
    assert [t.assertion for t in state.ivus] == ["hypothetical", "hypothetical"]


def test_plan_section_makes_ivus_planned(coder):
    _, state = run(coder, "PLAN:\nRepeat venogram and IVUS in 3 months.")
    assert [t.assertion for t in state.ivus] == ["hypothetical"]


# --- vessels, sides, coordination ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("phrase", "candidates", "side"),
    [
        ("left common iliac vein", ("vein.common_iliac",), "left"),
        ("L CIV", ("vein.common_iliac",), "left"),
        ("Lt. EIV", ("vein.external_iliac",), "left"),
        ("R-CFA", ("artery.common_femoral",), "right"),
        ("LCIV", ("vein.common_iliac",), "left"),
        ("bilateral common iliac veins", ("vein.common_iliac",), "bilateral"),
        ("right and left CIV", ("vein.common_iliac",), "bilateral"),
        ("IVC", ("vein.inferior_vena_cava",), None),
        ("TP trunk", ("artery.tibioperoneal_trunk",), None),
        ("innominate vein", ("vein.brachiocephalic",), None),
        ("LAD", ("coronary.lad",), None),
    ],
)
def test_vessel_mentions(coder, phrase, candidates, side):
    doc, state = run(coder, f"IVUS of the {phrase} was done.")
    mentions = [m for m in state.vessels]
    assert [(doc[m.start : m.end].text, m.candidates, m.side) for m in mentions] == [
        (phrase, candidates, side)
    ]


def test_coordinated_names_share_side_and_head(coder):
    doc, state = run(coder, "IVUS of the left common and external iliac veins.")
    assert sorted((m.candidates, m.side) for m in state.vessels) == [
        (("vein.common_iliac",), "left"),
        (("vein.external_iliac",), "left"),
    ]
    assert {doc[m.start : m.end].text for m in state.vessels} == {
        "left common and external iliac veins"
    }


def test_side_carries_along_a_list(coder):
    _, state = run(coder, "IVUS of the left CIV, EIV and CFV.")
    assert [m.side for m in state.vessels] == ["left", "left", "left"]


def test_bare_name_before_a_non_vessel_noun_is_not_a_vessel(coder):
    _, state = run(coder, "The popliteal fossa was prepped. IVUS of the femoral head region.")
    assert state.vessels == []


def test_neutral_name_takes_the_list_system(coder):
    _, state = run(coder, "IVUS of the common iliac and external iliac veins.")
    neutral = [m for m in state.vessels if m.system is None]
    assert neutral and all(m.system_hint == "vein" for m in neutral)


# --- roles, extents, links ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "vessel", "role"),
    [
        ("Via right CFV access, IVUS of the left CIV was performed.", "right CFV", "access"),
        ("The right IJ was accessed and IVUS of the SVC done.", "right IJ", "access"),
        (
            "IVUS showed compression of the left CIV by the right common iliac artery.",
            "right common iliac artery",
            "landmark",
        ),
        ("IVUS of the LRV showed compression between the SMA and the aorta.", "aorta", "landmark"),
        ("IVUS of the IVC below the renal veins.", "renal veins", "landmark"),
        (
            "A Bentson wire was parked in the distal aorta and IVUS of the right EIA done.",
            "distal aorta",
            "transit",
        ),
        ("The IVUS catheter was advanced through the IVC into the left CIV.", "IVC", "transit"),
        ("IVUS ran from the IVC at the renal veins to the left CFV.", "renal veins", "landmark"),
        (
            "The catheter was brought from the groin sheath into the left brachiocephalic vein "
            "for an IVUS look.",
            "left brachiocephalic vein",
            "named",
        ),
        ("The IVUS catheter went up the 8 Fr sheath in the right CFV.", "right CFV", "access"),
    ],
)
def test_vessel_roles(coder, text, vessel, role):
    doc, state = run(coder, text)
    roles = {doc[m.start : m.end].text: m.role for m in state.vessels}
    assert roles[vessel] == role


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("IVUS pullback from the IVC to the left CFV.", "imaging"),
        ("IVUS showed thrombus from the left popliteal vein through the IVC.", "lesion"),
        ("IVUS showed a stenosis of the left CIA extending into the EIA.", "lesion"),
        ("A stent was deployed from the left CIV into the EIV.", "treatment"),
        ("IVUS pullbacks were done. On the left, it went from the IVC to the left CFV.", "imaging"),
    ],
)
def test_extents(coder, text, kind):
    _, state = run(coder, text)
    assert [e.kind for e in state.extents] == [kind]


def test_extent_ends_at_the_vessel_placed_at_a_landmark(coder):
    doc, state = run(
        coder, "The IVUS pullback ran from the IVC at the renal veins to the left CFV."
    )
    names = {m.id: doc[m.start : m.end].text for m in state.vessels}
    assert [(names[e.first], names[e.second]) for e in state.extents] == [("IVC", "left CFV")]


def test_a_chain_of_connectors_is_one_extent(coder):
    doc, state = run(
        coder,
        "IVUS showed one occlusion from the infrarenal IVC through the right CIV into the right EIV.",
    )
    names = {m.id: doc[m.start : m.end].text for m in state.vessels}
    assert [(e.kind, names[e.first], names[e.second]) for e in state.extents] == [
        ("lesion", "infrarenal IVC", "right EIV")
    ]


def test_an_extent_skips_a_comma_aside(coder):
    doc, state = run(
        coder,
        "IVUS showed one lesion from the distal left CCA, just below the origin of the external "
        "carotid, into the proximal left ICA.",
    )
    names = {m.id: doc[m.start : m.end].text for m in state.vessels}
    assert [(e.kind, names[e.first], names[e.second]) for e in state.extents] == [
        ("lesion", "left CCA", "left ICA")
    ]


def test_separate_lesions_make_no_lesion_extent(coder):
    _, state = run(coder, "IVUS showed two separate stenoses, the left CIV to the EIV.")
    assert all(e.kind != "lesion" for e in state.extents)


def test_links_follow_on_sentences_and_skip_other_modalities(extract):
    facts = extract(
        "Venography showed compression of the right CIV. IVUS was then performed. "
        "The left CIV had an MLA of 45 mm2 with 70% area reduction."
    )
    linked = {v.span.text for v in facts.vessels if v.id in {link.vessel for link in facts.links}}
    assert linked == {"left CIV"}


def test_template_field_links_its_vessel(extract):
    facts = extract("Diagnostic: aortogram.\nIVUS: yes - L EIA\nIntervention: PTA L EIA")
    linked = {v.span.text for v in facts.vessels if v.id in {link.vessel for link in facts.links}}
    assert linked == {"L EIA"}


def test_a_lesion_concluded_after_the_results_merges_examined_vessels(code):
    note = (
        "TECHNIQUE: IVUS was performed. The IVC measured 180 mm2. The right CIV had an MLA of "
        "40 mm2. The right EIV had an MLA of 60 mm2. The occlusion was thus one continuous "
        "lesion from the infrarenal IVC through the right CIV into the right EIV."
    )
    result = code(note)
    assert result["codes"] == {"37252": 1, "37253": 0}
    assert result["units"][0]["merged_by"]["text"].startswith("infrarenal IVC")


def test_a_spared_vessel_does_not_extend_a_lesion(coder):
    doc, state = run(
        coder, "IVUS: continuous DVT from the left popliteal vein into the left CIV, IVC spared."
    )
    names = {m.id: doc[m.start : m.end].text for m in state.vessels}
    assert [names[e.second] for e in state.extents] == ["left CIV"]


def test_a_parenthetical_device_does_not_hide_the_object(extract):
    facts = extract("IVUS (PV .035): IVC nml 21 mm.")
    assert [v.span.text for v in facts.vessels if v.id in {k.vessel for k in facts.links}] == [
        "IVC"
    ]


def test_a_lesion_in_the_indication_does_not_merge(code):
    note = (
        "INDICATION: Yesterday's venogram showed thrombus from the right axillary vein into the "
        "subclavian vein.\n\nTECHNIQUE: IVUS results: the right subclavian vein had an MLA of "
        "21 mm2; the right axillary vein had an area of 64 mm2."
    )
    assert code(note)["codes"] == {"37252": 1, "37253": 1}


def test_links_antecedent_treatment(extract):
    facts = extract(
        "A 14 x 90 mm stent was placed in the left CIV. Post-stent IVUS showed good expansion."
    )
    assert [(link.basis, link.vessel) for link in facts.links] == [
        ("antecedent", facts.vessels[0].id)
    ]


# --- sentences and line wraps -------------------------------------------------------------------
def test_sentences_follow_headings_lists_and_abbreviations(coder):
    doc, _ = run(
        coder,
        "PROCEDURES PERFORMED:\n1. Venogram.\n2. IVUS of the L. CIV.\n\nFINDINGS: Dr. Smith saw approx. 70% compression. the EIV was normal. IVUS pre and post. The SMA.",
    )
    assert [s.text.strip() for s in doc.sents] == [
        "PROCEDURES PERFORMED:",
        "1. Venogram.",
        "2. IVUS of the L. CIV.",
        "FINDINGS: Dr. Smith saw approx. 70% compression.",
        "the EIV was normal.",
        "IVUS pre and post.",
        "The SMA.",
    ]


def test_wrapped_lines_join_without_moving_offsets():
    text = "Intravascular\nultrasound of the left\ncommon iliac vein.\nNext line."
    joined = unwrap_lines(text)
    assert len(joined) == len(text)
    assert joined.startswith("Intravascular ultrasound of the left common iliac vein.\nNext")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("IVUS (PV .035): IVC", ["IVUS", "(", "PV", ".035", ")", ":", "IVC"]),
        ("MLA 46mm2, 12x14", ["MLA", "46", "mm2", ",", "12", "x", "14"]),
        ("CSA=120", ["CSA", "=", "120"]),
    ],
)
def test_tokenizer_splits_dictated_measurements_and_no_emoticons(text, tokens):
    from nlp.tokenizer import blank_pipeline

    assert [t.text for t in blank_pipeline()(text)] == tokens


def test_anchor_words_avoid_common_words():
    """The anchored matcher runs a rule only on sentences holding its anchor words: 'of' or 'mm'
    would hold it in nearly every sentence."""
    from nlp.targets import required_words

    pattern = [
        {"LIKE_NUM": True},
        {"LOWER": {"IN": ["mm", "cm"]}},
        {"LOWER": {"IN": ["in", "of"]}},
        {"LOWER": {"IN": ["diameter", "caliber", "width"]}},
    ]
    assert required_words(pattern) == {"diameter", "caliber", "width"}
    assert required_words([{"LOWER": "of"}, {"LOWER": "x", "OP": "?"}]) == {"of"}
    assert required_words([{"LIKE_NUM": True}]) is None


def test_anchored_matches_equal_a_plain_matcher_per_sentence(coder):
    """Grouping rules by anchor words finds what one Matcher over each sentence finds."""
    from spacy.matcher import Matcher

    from nlp.rules_io import target_rules

    text = (
        "IVUS: MLA 46 mm2 in the left CIV, 13.5 mm in diameter; 70% area reduction. "
        "Placement of a 14 mm stent. The lesion length 40 mm. Reduction of 60%."
    )
    doc, state = run(coder, text)
    anchored = coder.extractor.nlp.get_pipe("ivus_targets").anchored
    got = sorted((s.start, s.end, s.label_) for s, _ in anchored(doc, state))
    plain = Matcher(doc.vocab)
    rules = [r for r in target_rules() if r.pattern is not None]
    for index, rule in enumerate(rules):
        plain.add(str(index), [rule.pattern])
    expected = sorted(
        (a + start, a + end, rules[int(doc.vocab.strings[mid])].category)
        for a, b in state.sentences
        for mid, start, end in plain(doc[a:b])
    )
    assert got == expected and len(got) >= 5
