"""Generate annotated IVUS procedure notes for the gold corpus (breadth, labelled ``generated``).

Run by hand from the repository root::

    .venv/bin/python corpus/generate.py --out corpus/src/generated --count 100 --seed 20261127

The script writes ``g-0001.note`` ... in the inline-markup format of ``corpus/GUIDE.md``, then runs
the gold checker (``rules_core.gold.check_sources``) on what it wrote and exits non-zero on any
problem. The same seed always gives the same files (every note draws from its own
``random.Random(f"{seed}:{index}:{attempt}")``). Generated notes are kept apart from the
hand-written ones (``corpus/src/written``), carry the tag ``generated``, and ``build.py`` gives
them ``source = "generated"`` so that every report can give figures for written and generated
notes separately.

Scenario model
--------------
Each note starts as a :class:`Scenario`, built by one of the ``build_*`` functions listed in
``BUILDERS`` (one per situation of the RULEBOOK: May-Thurner pre/post stent, bilateral iliac
veins, DVT with one continuous thrombus, central veins, dialysis outflow, nutcracker renal vein,
portal vein; iliac, femoropopliteal, tibial, renal, mesenteric, carotid, subclavian arteries,
EVAR and TEVAR, pulmonary arteries; coronary IVUS alone and with peripheral IVUS; IVC filter
placement/retrieval and foreign-body retrieval (suppressed); negated, planned, historical and
failed IVUS; ICE, OCT, duplex, pressure and ultrasound-guided access; notes without IVUS, with
generic vessel names, without a side, without findings, without a vessel, without a primary
procedure; separate lesions; more than the MUE). A scenario holds:

- ``runs``: the IVUS events, each with the canonical vessel ids it examined (the whole flow
  path for an extent, computed from the ontology adjacency), its role (diagnostic, post
  treatment, coronary), how the text attributes the vessels (``mode``: a list, an imaging
  extent/pullback, an IVUS findings passage, follow-on sentences, one continuous lesion, post
  treatment, or no vessel at all) and its findings per vessel (plausible numbers by vessel size);
- ``lesions`` (pathology kind, vessels, whether one lesion is continuous across vessels),
  ``treatments`` (procedure kind, vessels, device), ``access`` vessels, ``landmarks`` and
  angiography-only mentions, ``traps`` (negated / planned / historical / failed IVUS),
  ``bundling`` (the service that includes IVUS), ``bundle_other``, ``oct``, ``study`` (whether a
  diagnostic angiogram/venogram is documented) and ``stated_count``;
- its clinical ``area``, the key of the phrasing pools (:data:`AREAS`), with per-scenario
  overrides in ``pools``.

Phrasing pools
--------------
A :class:`Style` is drawn per note: headings ALL CAPS / Title / none, numbered procedure list or
bullets or a run-on line, terse "Key: value" template or narrative, abbreviations (CIV, SFA,
"L"/"Lt."/compact "LCIV"), dictation slips (repeated words, lower-case starts, "IV US",
"intravenous ultrasound", "IVUS'd"), IVUS catheter names standing for the imaging (Visions PV,
OptiCross, Eagle Eye), and long narrative boilerplate (history, technique, aftercare). Sentence
roles (indication, access, study findings, IVUS intro, per-vessel findings, treatment,
post-treatment IVUS, completion, impression, plan) each have several templates; the area pools
use a small slot grammar (:func:`fill`: ``{P:kind:words}`` pathology, ``{PR:kind:words}``
procedure, ``{M:kind:words}`` non-IVUS modality, ``{V:vessel-id}`` an unlinked vessel mention,
``{side}``, ``{n:LO-HI}`` ...) so that every span is marked up where it is written. Vessel
surfaces come from :data:`NAMES` (written here from clinical usage, not from the extractor):
full names, abbreviations, side forms, bilateral plurals, coordinated pairs ("left common and
external iliac veins"), slashed pairs ("L CIV/EIV") and regional words ("right iliofemoral").

How the gold is derived
-----------------------
Only from the scenario, never from an extractor: the :class:`Writer` marks up every mention as
it writes it (IVUS spans with their assertion, VESSEL spans linked with ``ivus=`` only where the
sentence says IVUS imaged that vessel, EXTENT spans between linked ends, FINDING spans with
``of=`` the vessel mention they describe, PATHOLOGY, PROCEDURE and NON_IVUS_MODALITY spans).
The header comes from :func:`derive_gold`: ``vessels`` = the vessels of the affirmed noncoronary
runs, ``merges`` = the vessel paths of continuous lesions described in an IVUS sentence,
``suppressed`` = the bundling service, expected codes under BOTH policies via
``rules_core.gold.expected_codes``, and flags by :func:`flags_under` (no-ivus-finding per billing
unit, exceeds-mue, long-merge, count-mismatch, no-primary-procedure, vessel-unspecific,
laterality-missing, ivus-without-vessel, bundled-ivus-other-vessels, oct-not-ivus). Flags follow
the default policy ``sir``; when ``named-vessel`` would raise different flags the note says so in
``# note:``. Tags come from the scenario, the style and what the writer rendered. A lint
(:func:`lint`) refuses a note in which a vessel, IVUS, modality, study, pathology or treatment
word was written outside any span, and a note must have 100-700 words.

Known limits
------------
Generated notes are more regular than real dictation: sentence templates repeat across notes,
findings are always well-formed numbers, every vessel mention is an exact name from a closed
list, clinical content is plausible but shallow, and only the situations listed above occur.
Device nouns after the act ("the stent was well apposed") are not PROCEDURE spans. The notes are
for breadth (coverage of rules and surface forms), not for estimating accuracy on real notes:
reports give figures for written and generated notes separately.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rules_core.coder import cluster_groups  # noqa: E402
from rules_core.gold import check_sources, compile_note, expected_codes  # noqa: E402
from rules_core.ontology import load_ontology  # noqa: E402
from rules_core.policy import load_policies  # noqa: E402

POLICIES = ("sir", "named-vessel")
MUE_37253 = 5
MIN_WORDS, MAX_WORDS = 100, 700
GUIDE_TAGS = frozenset(
    """venous arterial coronary mixed-coronary-peripheral central-venous dialysis may-thurner dvt
    nutcracker iliac femoropopliteal tibial renal mesenteric carotid subclavian-vertebral aortic
    pulmonary portal pre-post bilateral continuous-lesion separate-lesions extent-pullback
    policy-differs numbered-list filter foreign-body negated planned historical failed ice oct
    duplex us-access pressure no-ivus laterality-missing generic-vessel no-finding
    findings-passage follow-on access-vessel landmark exceeds-mue no-primary terse-template
    long-narrative all-caps no-headings dictation-slips abbreviations device-names
    generated""".split()
)


# =============================================================================================
# Vessel names (surface forms written here, from clinical usage; not from the extractor)
# =============================================================================================
@dataclass(frozen=True)
class Name:
    """How a base vessel is written: ``words`` + ``noun`` ("common iliac" + "vein"), abbreviations
    and other whole names. ``noun`` is empty when ``words`` already holds the head noun."""

    words: str
    noun: str = ""
    abbr: tuple[str, ...] = ()
    alt: tuple[str, ...] = ()


def _v(words: str, *abbr: str, alt: tuple[str, ...] = ()) -> Name:
    return Name(words, "vein", abbr, alt)


def _a(words: str, *abbr: str, alt: tuple[str, ...] = ()) -> Name:
    return Name(words, "artery", abbr, alt)


NAMES: dict[str, Name] = {
    "vein.inferior_vena_cava": Name("inferior vena cava", "", ("IVC",), ("vena cava", "cava")),
    "vein.superior_vena_cava": Name("superior vena cava", "", ("SVC",)),
    "vein.azygos": _v("azygos"),
    "vein.common_iliac": _v("common iliac", "CIV"),
    "vein.external_iliac": _v("external iliac", "EIV"),
    "vein.internal_iliac": _v("internal iliac", "IIV"),
    "vein.common_femoral": _v("common femoral", "CFV"),
    "vein.femoral": _v("femoral", "FV"),
    "vein.popliteal": _v("popliteal"),
    "vein.posterior_tibial": _v("posterior tibial"),
    "vein.brachiocephalic": _v("brachiocephalic", "BCV", alt=("innominate vein",)),
    "vein.internal_jugular": _v("internal jugular", "IJ", "IJV"),
    "vein.subclavian": _v("subclavian"),
    "vein.axillary": _v("axillary"),
    "vein.cephalic": _v("cephalic", alt=("cephalic arch",)),
    "vein.basilic": _v("basilic"),
    "vein.brachial": _v("brachial"),
    "vein.renal": _v("renal"),
    "vein.gonadal": _v("gonadal", alt=("ovarian vein",)),
    "vein.portal": Name("portal vein", "", ("MPV",), ("main portal vein",)),
    "vein.superior_mesenteric": _v("superior mesenteric", "SMV"),
    "vein.splenic": _v("splenic"),
    "vein.iliac": _v("iliac"),
    "vein.jugular": _v("jugular"),
    "artery.aorta": Name("aorta", "", (), ("abdominal aorta", "infrarenal aorta")),
    "artery.common_iliac": _a("common iliac", "CIA"),
    "artery.external_iliac": _a("external iliac", "EIA"),
    "artery.internal_iliac": _a("internal iliac", "IIA", alt=("hypogastric artery",)),
    "artery.common_femoral": _a("common femoral", "CFA"),
    "artery.profunda_femoris": _a("profunda femoris", "PFA", alt=("deep femoral artery",)),
    "artery.superficial_femoral": _a("superficial femoral", "SFA"),
    "artery.popliteal": _a("popliteal"),
    "artery.tibioperoneal_trunk": Name("tibioperoneal trunk", "", ("TPT", "TP trunk")),
    "artery.anterior_tibial": _a("anterior tibial", "AT"),
    "artery.posterior_tibial": _a("posterior tibial", "PT"),
    "artery.peroneal": _a("peroneal"),
    "artery.dorsalis_pedis": _a("dorsalis pedis", "DP"),
    "artery.renal": _a("renal"),
    "artery.celiac": Name("celiac artery", "", (), ("celiac trunk", "celiac axis")),
    "artery.superior_mesenteric": _a("superior mesenteric", "SMA"),
    "artery.inferior_mesenteric": _a("inferior mesenteric", "IMA"),
    "artery.brachiocephalic": _a("brachiocephalic", alt=("innominate artery",)),
    "artery.common_carotid": _a("common carotid", "CCA"),
    "artery.internal_carotid": _a("internal carotid", "ICA"),
    "artery.external_carotid": _a("external carotid", "ECA"),
    "artery.vertebral": _a("vertebral"),
    "artery.subclavian": _a("subclavian"),
    "artery.axillary": _a("axillary"),
    "artery.brachial": _a("brachial"),
    "artery.radial": _a("radial"),
    "artery.pulmonary": _a("pulmonary", "PA"),
    "artery.pulmonary_trunk": Name("main pulmonary artery", "", (), ("pulmonary trunk",)),
    "artery.iliac": _a("iliac"),
    "artery.femoral": _a("femoral"),
    "artery.tibial": _a("tibial"),
    "artery.carotid": _a("carotid"),
    "coronary.lad": Name("left anterior descending artery", "", ("LAD",)),
    "coronary.rca": Name("right coronary artery", "", ("RCA",)),
    "coronary.lcx": Name("left circumflex artery", "", ("LCx",), ("circumflex artery",)),
    "coronary.left_main": Name("left main coronary artery", "", ("LMCA",), ("left main",)),
    "coronary.diagonal": Name("first diagonal branch", "", ("D1",)),
    "coronary.obtuse_marginal": Name("obtuse marginal branch", "", ("OM1",)),
    "coronary.graft": Name("saphenous vein graft", "", ("SVG",)),
    "coronary.unspecified": Name("coronary", ""),
}

# Pairs written as one coordinated span ("left common and external iliac veins").
COORDINATED: dict[tuple[str, str], str] = {
    ("vein.common_iliac", "vein.external_iliac"): "common and external iliac",
    ("artery.common_iliac", "artery.external_iliac"): "common and external iliac",
    ("vein.femoral", "vein.popliteal"): "femoral and popliteal",
    ("artery.superficial_femoral", "artery.popliteal"): "superficial femoral and popliteal",
    ("vein.external_iliac", "vein.common_femoral"): "external iliac and common femoral",
    ("artery.external_iliac", "artery.common_femoral"): "external iliac and common femoral",
}
SLASHED: dict[tuple[str, str], str] = {
    ("vein.common_iliac", "vein.external_iliac"): "CIV/EIV",
    ("artery.common_iliac", "artery.external_iliac"): "CIA/EIA",
    ("artery.superficial_femoral", "artery.popliteal"): "SFA/popliteal",
    ("vein.external_iliac", "vein.common_femoral"): "EIV/CFV",
}
# Regional words naming several vessels of one side ("left iliofemoral").
REGIONS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("vein.common_iliac", "vein.external_iliac", "vein.common_femoral"): (
        "iliofemoral",
        "iliofemoral segment",
        "iliofemoral venous segment",
    ),
    ("artery.superficial_femoral", "artery.popliteal"): (
        "femoropopliteal segment",
        "fem-pop segment",
        "femoropopliteal",
    ),
    ("vein.femoral", "vein.popliteal"): ("femoropopliteal venous segment",),
}
SIDE_FORMS = {
    "left": ("left", "left", "left", "L", "Lt.", "L"),
    "right": ("right", "right", "right", "R", "Rt.", "R"),
}
SIDE_COMPACT = {"left": "L", "right": "R"}
PLURAL_NOUN = {"vein": "veins", "artery": "arteries"}


def split_side(vid: str) -> tuple[str, str | None]:
    """``vein.common_iliac.left`` -> (``vein.common_iliac``, ``left``)."""
    head, _, tail = vid.rpartition(".")
    if tail in ("left", "right"):
        return head, tail
    return vid, None


def with_side(base: str, side: str | None) -> str:
    return f"{base}.{side}" if side else base


def other_side(side: str | None) -> str | None:
    return {"left": "right", "right": "left"}.get(side or "")


# =============================================================================================
# Style: how a note is written
# =============================================================================================
@dataclass(frozen=True)
class Style:
    headings: str  # "caps" | "title" | "none"
    numbered: bool  # numbered procedure list
    terse: bool  # terse template ("Key: value" lines)
    abbrev: bool  # prefer abbreviations (CIV, SFA, L/R)
    slips: bool  # occasional dictation slips
    devices: bool  # IVUS catheter names standing for the imaging
    verbose: bool  # long narrative boilerplate


def choose_style(rng: random.Random) -> Style:
    terse = rng.random() < 0.18
    headings = rng.choices(["caps", "title", "none"], [45, 35, 20])[0]
    if terse and headings == "none":
        headings = "title"
    return Style(
        headings=headings,
        numbered=headings != "none" and rng.random() < 0.55,
        terse=terse,
        abbrev=rng.random() < 0.4,
        slips=rng.random() < 0.2,
        devices=rng.random() < 0.25,
        verbose=not terse and rng.random() < 0.35,
    )


# =============================================================================================
# Findings
# =============================================================================================
@dataclass(frozen=True)
class Finding:
    """An IVUS finding: ``prose`` fits after "showed" (article outside the span), ``terse``
    fits a "vessel: finding" line."""

    kind: str
    prose: str
    terse: str
    article: str = ""


# Normal luminal area (mm2) and diameter (mm) by base vessel, for plausible numbers.
SIZES: dict[str, tuple[int, int, float, float]] = {
    "vein.inferior_vena_cava": (190, 300, 18, 24),
    "vein.superior_vena_cava": (150, 240, 15, 20),
    "vein.common_iliac": (150, 210, 13, 16),
    "vein.external_iliac": (120, 170, 11, 14),
    "vein.common_femoral": (100, 150, 10, 13),
    "vein.femoral": (60, 100, 8, 11),
    "vein.popliteal": (50, 80, 7, 10),
    "vein.brachiocephalic": (90, 150, 11, 14),
    "vein.subclavian": (70, 120, 9, 12),
    "vein.internal_jugular": (80, 140, 10, 13),
    "vein.axillary": (50, 90, 8, 10),
    "vein.cephalic": (30, 60, 6, 8),
    "vein.renal": (50, 90, 8, 10),
    "vein.portal": (90, 150, 11, 14),
    "vein.superior_mesenteric": (50, 90, 8, 10),
    "artery.aorta": (300, 500, 18, 25),
    "artery.common_iliac": (45, 75, 7.5, 10),
    "artery.external_iliac": (35, 55, 6.5, 8.5),
    "artery.common_femoral": (35, 60, 6.5, 9),
    "artery.superficial_femoral": (20, 35, 5, 6.5),
    "artery.popliteal": (18, 30, 4.5, 6),
    "artery.profunda_femoris": (15, 25, 4.5, 5.5),
    "artery.tibioperoneal_trunk": (8, 14, 3.2, 4.2),
    "artery.anterior_tibial": (5, 10, 2.5, 3.5),
    "artery.posterior_tibial": (5, 10, 2.5, 3.5),
    "artery.peroneal": (4, 8, 2.2, 3.2),
    "artery.renal": (20, 32, 5, 6.5),
    "artery.superior_mesenteric": (28, 45, 6, 7.5),
    "artery.celiac": (25, 40, 6, 7.5),
    "artery.common_carotid": (35, 50, 6.5, 8),
    "artery.internal_carotid": (20, 32, 4.8, 6.2),
    "artery.subclavian": (40, 60, 7, 9),
    "artery.pulmonary": (200, 320, 16, 22),
    "coronary.lad": (7, 12, 3.0, 4.0),
    "coronary.rca": (8, 14, 3.2, 4.2),
    "coronary.lcx": (6, 10, 2.8, 3.6),
}
DEFAULT_SIZE = (40, 80, 6.0, 9.0)


def _size(vid: str) -> tuple[int, int, float, float]:
    base = split_side(vid)[0]
    return SIZES.get(base, DEFAULT_SIZE)


def _area_finding(rng: random.Random, value: int, label: str = "") -> Finding:
    cm2 = rng.random() < 0.15 and value >= 20
    unit = rng.choice(["mm2", "mm2", "mm²", "sq mm"])
    if label == "mla" or (not label and rng.random() < 0.5):
        number = f"{value / 100:.2f} cm2" if cm2 else f"{value} {unit}"
        prose = rng.choice(
            [
                f"MLA of {number}",
                f"minimal luminal area of {number}",
                f"minimum lumen area of {number}",
            ]
        )
        article = "a " if prose.startswith("minim") else "an "
        return Finding("area", prose, f"MLA {number}", article)
    if label == "msa":
        prose = rng.choice(
            [f"minimal stent area of {value} {unit}", f"stent area of {value} {unit}"]
        )
        return Finding("area", prose, f"MSA {value} {unit}", "a ")
    prose = rng.choice(
        [f"luminal area of {value} {unit}", f"cross-sectional area of {value} {unit}"]
    )
    return Finding("area", prose, f"CSA {value} {unit}", "a ")


def lesion_findings(rng: random.Random, vid: str, pct: int | None = None) -> list[Finding]:
    """Findings at a stenotic/compressed segment: a minimal area and a percent reduction."""
    lo, hi, dlo, dhi = _size(vid)
    ref = rng.randint(lo, hi)
    pct = pct if pct is not None else rng.randint(55, 85)
    mla = max(2, round(ref * (100 - pct) / 100)) if ref > 12 else round(ref * (100 - pct) / 10) / 10
    area = _area_finding(rng, int(mla) if mla >= 2 else 2, "mla")
    percent = rng.choice(
        [
            Finding("percent", f"{pct}% area reduction", f"{pct}% area reduction"),
            Finding("percent", f"{pct}% luminal narrowing", f"{pct}% narrowing", "a "),
            Finding(
                "percent",
                f"{pct}% reduction relative to the distal reference",
                f"{pct}% vs reference",
                "a ",
            ),
        ]
    )
    out = [area, percent]
    if rng.random() < 0.3:
        dmin = round(rng.uniform(dlo, dhi) * (100 - pct) / 100 + 0.5, 1)
        out.append(Finding("diameter", f"minimal diameter of {dmin} mm", f"MLD {dmin} mm", "a "))
    rng.shuffle(out)
    return out[: rng.choice([1, 2, 2, 3])]


def normal_findings(rng: random.Random, vid: str) -> list[Finding]:
    """Findings of a healthy reference segment."""
    lo, hi, dlo, dhi = _size(vid)
    area = rng.randint(lo, hi)
    d1 = round(rng.uniform(dlo, dhi), 1)
    d2 = round(d1 + rng.uniform(0.4, 2.0), 1)
    options = [
        [_area_finding(rng, area, "csa")],
        [Finding("diameter", f"diameter of {d1} x {d2} mm", f"{d1} x {d2} mm", "a ")],
        [
            _area_finding(rng, area, "csa"),
            Finding(
                "diameter",
                f"mean diameter of {round((d1 + d2) / 2, 1)} mm",
                f"mean diam {round((d1 + d2) / 2, 1)} mm",
                "a ",
            ),
        ],
        [Finding("morphology", "no significant narrowing", "no narrowing")],
    ]
    return rng.choice(options)


def post_findings(rng: random.Random, vid: str) -> list[Finding]:
    """Findings after stenting or angioplasty."""
    lo, hi, _, _ = _size(vid)
    msa = rng.randint(int(lo * 0.8), hi)
    pct = rng.randint(82, 98)
    pool = [
        _area_finding(rng, msa, "msa"),
        Finding("expansion", f"{pct}% expansion", f"{pct}% expansion"),
        rng.choice(
            [
                Finding("apposition", "good wall apposition", "well apposed"),
                Finding("apposition", "complete apposition", "fully apposed"),
                Finding("apposition", "no malapposition", "no malapposition"),
            ]
        ),
        Finding("expansion", "full expansion", "fully expanded"),
    ]
    first = rng.sample(pool[:2], 1)
    second = rng.sample(pool[2:], 1)
    return first + second if rng.random() < 0.7 else second + first


# =============================================================================================
# Markup writer
# =============================================================================================
class Mk:
    """Writes inline markup and numbers the span ids of one note."""

    def __init__(self, rng: random.Random, style: Style) -> None:
        self.rng = rng
        self.style = style
        self.n_ivus = 0
        self.n_vessel = 0
        self.used_device = False

    # -- simple spans -------------------------------------------------------------------------
    @staticmethod
    def span(surface: str, label: str, **attrs: str) -> str:
        text = " ".join(f"{k}={v}" for k, v in attrs.items() if v)
        return f"[[{surface}|{label}{' ' + text if text else ''}]]"

    def pathology(self, kind: str, words: str) -> str:
        return self.span(words, "PATHOLOGY", kind=kind)

    def procedure(self, kind: str, words: str, assertion: str = "affirmed") -> str:
        return self.span(words, "PROCEDURE", kind=kind, assertion=_not_default(assertion))

    def modality(self, kind: str, words: str, assertion: str = "affirmed") -> str:
        return self.span(words, "NON_IVUS_MODALITY", kind=kind, assertion=_not_default(assertion))

    def finding(self, f: Finding, of: Sequence[str], terse: bool = False) -> str:
        words = f.terse if terse else f.prose
        marked = self.span(words, "FINDING", kind=f.kind, of=",".join(of))
        return marked if terse else f.article + marked

    def extent(self, inner: str, kind: str, start: str, end: str) -> str:
        return self.span(inner, "EXTENT", kind=kind, **{"from": start, "to": end})

    # -- IVUS ---------------------------------------------------------------------------------
    def ivus(self, assertion: str = "affirmed", form: str = "auto") -> tuple[str, list[str]]:
        """An IVUS mention; returns markup and the span ids (two for "intravascular ultrasound
        (IVUS)")."""
        rng = self.rng
        if form == "auto":
            forms = ["IVUS"] * 7 + ["intravascular ultrasound", "intravascular ultrasound (IVUS)"]
            if self.style.slips:
                forms += ["IV US", "intra-vascular ultra sound", "intravenous ultrasound", "ivus"]
            form = rng.choice(forms)
        if form == "device":
            self.used_device = True
            form = rng.choice(["Visions PV .035", "Visions PV .018", "OptiCross 35", "Eagle Eye"])
        assertion_attr = _not_default(assertion)
        if form.endswith(" (IVUS)"):
            a, b = self._ivus_id(), self._ivus_id()
            long_form = form[: -len(" (IVUS)")]
            text = (
                f"{self.span(long_form, 'IVUS', id=a, assertion=assertion_attr)} "
                f"({self.span('IVUS', 'IVUS', id=b, assertion=assertion_attr)})"
            )
            return text, [a, b]
        a = self._ivus_id()
        return self.span(form, "IVUS", id=a, assertion=assertion_attr), [a]

    def _ivus_id(self) -> str:
        self.n_ivus += 1
        return f"i{self.n_ivus}"

    # -- vessels ------------------------------------------------------------------------------
    def vessel(self, vids: Sequence[str], ivus: Sequence[str] = ()) -> tuple[str, str]:
        """One VESSEL span naming ``vids`` (one vessel, a bilateral pair or a coordinated pair);
        returns markup and span id."""
        self.n_vessel += 1
        vid_span = f"v{self.n_vessel}"
        surface = self.surface(vids)
        markup = self.span(
            surface, "VESSEL", id=vid_span, vessel=",".join(vids), ivus=",".join(ivus)
        )
        return markup, vid_span

    def surface(self, vids: Sequence[str]) -> str:
        if len(vids) == 1:
            return self.single_surface(vids[0])
        (b1, s1), (b2, s2) = split_side(vids[0]), split_side(vids[1])
        if len(vids) == 2 and b1 == b2 and {s1, s2} == {"left", "right"}:
            return self.bilateral_surface(b1)
        bases = tuple(split_side(v)[0] for v in vids)
        sides = {split_side(v)[1] for v in vids}
        if bases in REGIONS and len(sides) == 1 and (self.rng.random() < 0.5 or len(vids) > 2):
            side = sides.pop()
            word = self.rng.choice(REGIONS[bases])
            return f"{self.side_word(side)} {word}" if side else word
        if len(vids) == 2 and s1 == s2 and (b1, b2) in COORDINATED:
            return self.coordinated_surface(b1, b2, s1)
        raise ValueError(f"no surface for {vids}")

    def side_word(self, side: str) -> str:
        forms = SIDE_FORMS[side]
        if self.style.abbrev:
            return self.rng.choice(forms[3:] + forms[:1])
        return self.rng.choice(forms)

    def single_surface(self, vid: str) -> str:
        base, side = split_side(vid)
        name = NAMES[base]
        rng = self.rng
        full = f"{name.words} {name.noun}".strip()
        prefer_abbr = 0.7 if self.style.abbrev else 0.3
        if side is None:
            options = [full, *name.alt]
            if name.abbr and rng.random() < prefer_abbr + 0.2:
                return rng.choice(name.abbr)
            return rng.choice(options)
        if name.abbr and rng.random() < prefer_abbr:
            abbr = rng.choice(name.abbr)
            if len(abbr) >= 3 and rng.random() < 0.25:
                return SIDE_COMPACT[side] + abbr
            return f"{self.side_word(side)} {abbr}"
        if name.alt and rng.random() < 0.2:
            return f"{self.side_word(side)} {rng.choice(name.alt)}"
        return f"{self.side_word(side)} {full}"

    def bilateral_surface(self, base: str) -> str:
        name = NAMES[base]
        prefix = self.rng.choice(["bilateral", "bilateral", "both"])
        if name.abbr and (self.style.abbrev or self.rng.random() < 0.3):
            return f"{prefix} {name.abbr[0]}s"
        return f"{prefix} {name.words} {PLURAL_NOUN[name.noun]}"

    def coordinated_surface(self, b1: str, b2: str, side: str | None) -> str:
        side_text = f"{self.side_word(side)} " if side else ""
        if (b1, b2) in SLASHED and (self.style.abbrev or self.rng.random() < 0.25):
            return side_text + SLASHED[(b1, b2)]
        noun = PLURAL_NOUN[NAMES[b1].noun]
        return f"{side_text}{COORDINATED[(b1, b2)]} {noun}"


def _not_default(assertion: str) -> str:
    return "" if assertion == "affirmed" else assertion


def cap(markup: str) -> str:
    """Capitalise the first letter of a (possibly marked-up) sentence."""
    for i, ch in enumerate(markup):
        if ch.isalpha():
            return markup[:i] + ch.upper() + markup[i + 1 :]
        if ch not in "[":
            return markup
    return markup


def join_and(items: Sequence[str], rng: random.Random | None = None) -> str:
    if len(items) <= 1:
        return "".join(items)
    comma = "," if rng is not None and len(items) > 2 and rng.random() < 0.5 else ""
    return ", ".join(items[:-1]) + f"{comma} and " + items[-1]


# =============================================================================================
# Templates: a small slot grammar for the phrasing pools
# =============================================================================================
# {age} {sex} {side} {Side} {other} {sheath} {n:LO-HI}
# {P:kind:words}        PATHOLOGY span
# {PR:kind:words}       PROCEDURE span (affirmed); {PRH:...} historical; {PRP:...} planned
# {M:kind:words}        NON_IVUS_MODALITY span; {MH:kind:words} historical
# {V:vessel-id}         an unlinked VESSEL span; ".S" / ".O" in the id = the scenario side / other
_SLOT = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


@dataclass
class Ctx:
    """What a template may refer to."""

    mk: Mk
    side: str | None
    age: int
    sex: str
    extra: dict[str, Callable[[], str]] = field(default_factory=dict)

    def resolve(self, vid: str) -> str:
        if vid.endswith(".S"):
            return with_side(vid[:-2], self.side)
        if vid.endswith(".O"):
            return with_side(vid[:-2], other_side(self.side))
        return vid


def fill(template: str, ctx: Ctx) -> str:
    mk = ctx.mk

    def slot(match: re.Match[str]) -> str:
        key, arg = match.group(1), match.group(2) or ""
        if key in ctx.extra:
            return ctx.extra[key]()
        if key == "age":
            return str(ctx.age)
        if key == "sex":
            return ctx.sex
        if key in ("side", "Side", "other"):
            word = (ctx.side if key != "other" else other_side(ctx.side)) or ""
            return word.capitalize() if key == "Side" else word
        if key == "sheath":
            return str(mk.rng.choice([6, 7, 8, 9, 10, 11, 12]))
        if key == "n":
            lo, hi = (int(x) for x in arg.split("-"))
            return str(mk.rng.randint(lo, hi))
        kind, _, words = arg.partition(":")
        if key == "P":
            return mk.pathology(kind, words)
        if key in ("PR", "PRH", "PRP"):
            assertion = {"PR": "affirmed", "PRH": "historical", "PRP": "hypothetical"}[key]
            return mk.procedure(kind, words, assertion)
        if key in ("M", "MH"):
            return mk.modality(kind, words, "historical" if key == "MH" else "affirmed")
        if key == "V":
            vids = [ctx.resolve(v) for v in arg.split(",")]
            return mk.vessel(vids)[0]
        raise KeyError(f"unknown slot {key!r} in template {template!r}")

    return _SLOT.sub(slot, template)


def pick(rng: random.Random, pool: Sequence[str], ctx: Ctx) -> str:
    return fill(rng.choice(pool), ctx)


# =============================================================================================
# Scenario model
# =============================================================================================
@dataclass
class Run:
    """One IVUS event. ``vessels`` are the canonical ids it examined (the whole path for an
    extent); ``mode`` says how the text attributes them (list, extent, passage, follow-on, post,
    none); ``findings`` maps a vessel id to its IVUS findings."""

    role: str  # "diagnostic" | "post" | "coronary"
    vessels: list[str]
    mode: str
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    ends: tuple[str, str] | None = None
    lesion: Lesion | None = None  # a continuous lesion described in this run's text


@dataclass
class Lesion:
    kind: str  # PATHOLOGY kind
    vessels: list[str]  # first .. last vessel of the lesion (the whole path when continuous)
    continuous: bool
    severity: int
    words: str  # the pathology noun as written


@dataclass
class Treatment:
    kind: str  # PROCEDURE kind
    vessels: list[str]
    words: str  # the procedure phrase ("stenting", "balloon venoplasty")
    device: str
    item: str = ""  # optional list-item template (slot grammar)
    sentence: str = ""  # optional narrative template (slot grammar)


@dataclass
class Trap:
    """An IVUS mention that does not count (negated, planned, historical, failed)."""

    assertion: str
    vessel: str | None = None


@dataclass
class Scenario:
    kind: str
    area: str  # key into AREAS (phrasing pools)
    tags: set[str]
    side: str | None
    runs: list[Run] = field(default_factory=list)
    lesions: list[Lesion] = field(default_factory=list)
    treatments: list[Treatment] = field(default_factory=list)
    access: list[str] = field(default_factory=list)
    us_access: bool = True
    landmarks: list[str] = field(default_factory=list)  # template keys in the area pools
    traps: list[Trap] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)  # extra narrative template keys
    bundling: str | None = None
    study: bool = True  # the diagnostic study (angiography / venography) is documented
    stated_count: int | None = None
    bundle_other: bool = False  # IVUS of vessels unrelated to the bundling service
    oct: bool = False  # optical coherence tomography documented
    age: tuple[int, int] = (30, 85)
    history: list[str] = field(default_factory=list)  # extra history templates
    pools: dict[str, tuple[str, ...]] = field(default_factory=dict)  # area pool overrides
    comment: str = ""

    def counted(self) -> list[str]:
        seen: list[str] = []
        for run in self.runs:
            if run.role.startswith("coronary"):
                continue
            for vid in run.vessels:
                if vid not in seen:
                    seen.append(vid)
        return seen

    def merges(self) -> list[list[str]]:
        return [run.lesion.vessels for run in self.runs if run.lesion and run.lesion.continuous]

    def has_finding(self, vid: str) -> bool:
        return any(run.findings.get(vid) for run in self.runs)


# =============================================================================================
# Phrasing pools by clinical area
# =============================================================================================
@dataclass(frozen=True)
class Area:
    """Phrasing pools of one clinical area. Templates use the slot grammar of :func:`fill`;
    scenario slots: {LV} lesion vessel, {LP} lesion noun, {SEV} severity, {TV} treated vessel,
    {DEV} device, {STUDY} the study word as a PROCEDURE span."""

    system: str  # "vein" | "artery" | "coronary"
    study_kind: str  # "venography" | "angiography"
    study_words: tuple[str, ...]
    list_study: tuple[str, ...]
    indication: tuple[str, ...]
    study_findings: tuple[str, ...]
    impression: tuple[str, ...]
    plan: tuple[str, ...]
    completion: tuple[str, ...]
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)


VEN_COMPLETION = (
    "Completion {STUDY} demonstrated brisk in-line flow with resolution of the collateral filling.",
    "Final {STUDY} showed rapid antegrade flow through the stented segment and no filling of "
    "pelvic collaterals.",
    "Completion {STUDY} showed widely patent outflow.",
)
ART_COMPLETION = (
    "Completion {STUDY} showed brisk flow with no residual {P:stenosis:stenosis} and no "
    "{P:dissection:dissection}.",
    "Final {STUDY} demonstrated an excellent result with no distal embolization.",
    "Completion {STUDY} showed less than 10% residual narrowing and preserved distal runoff.",
)

AREAS: dict[str, Area] = {
    "iliac-vein": Area(
        system="vein",
        study_kind="venography",
        study_words=("venogram", "venography", "contrast venography", "pelvic venogram"),
        list_study=(
            "{Side} lower extremity {PR:venography:venogram}",
            "{PR:venography:Pelvic venography}",
            "{PR:venography:Venogram}, {side} lower extremity",
            "{PR:venography:Cavogram} and {side} lower extremity {PR:venography:venogram}",
        ),
        indication=(
            "{age}-year-old {sex} with {side} lower extremity swelling, heaviness and venous "
            "claudication despite compression therapy. {MH:duplex:Duplex ultrasound} excluded "
            "acute "
            "{P:thrombus:DVT}. Suspected {P:compression:compression} of the {V:vein.iliac.S}.",
            "{Side} leg edema and skin changes (CEAP C4a) in a {age}-year-old {sex}; "
            "cross-sectional imaging "
            "suggested {P:compression:compression} of the {V:vein.common_iliac.S} by the overlying "
            "{V:artery.common_iliac.O}.",
            "{age} y/o {sex}, chronic {side} leg swelling, history of {side} {P:thrombus:DVT} "
            "treated with anticoagulation. Referred for evaluation of "
            "{P:compression:compression} of the {V:vein.iliac.S}.",
        ),
        study_findings=(
            "{STUDY} demonstrated {SEV}% narrowing of the {LV} with cross-pelvic collateral "
            "filling.",
            "{STUDY} showed contrast thinning at the {LV} consistent with extrinsic "
            "{P:compression:compression}, with prominent pelvic collaterals.",
            "{STUDY} revealed a short-segment {LP} of the {LV} and delayed contrast clearance.",
        ),
        impression=(
            "{P:compression:Compression} of the {V:vein.iliac.S} (May-Thurner anatomy), treated "
            "with {PR:stent:stent placement}.",
            "Successful {PR:stent:stenting} of the {TV} for non-thrombotic "
            "{P:compression:compression}.",
            "Symptomatic {LP} of the {V:vein.iliac.S}; {PR:stent:stent reconstruction} performed.",
        ),
        plan=(
            "Continue compression stockings and start antiplatelet therapy; follow-up venous "
            "{M:duplex:duplex} in 4 weeks.",
            "Anticoagulation per protocol for 3 months, clinic visit with {M:duplex:duplex} in "
            "6 weeks.",
            "Ambulate today, discharge home, aspirin 81 mg daily, follow up in clinic in one "
            "month.",
        ),
        completion=VEN_COMPLETION,
        extras={
            "landmark": (
                "The point of maximal narrowing was at the crossing of the "
                "{V:artery.common_iliac.O}.",
                "The {LV} was compressed where it passes beneath the {V:artery.common_iliac.O}.",
            ),
            "angio-only": (
                "The {V:vein.femoral.S} and {V:vein.popliteal.S} were patent on the {STUDY_W}.",
                "The {V:vein.internal_iliac.S} filled normally on the {STUDY_W}.",
            ),
        },
    ),
    "iliac-artery": Area(
        system="artery",
        study_kind="angiography",
        study_words=("angiogram", "angiography", "aortogram", "arteriogram"),
        list_study=(
            "{PR:angiography:Abdominal aortogram} with pelvic runoff",
            "{PR:angiography:Pelvic angiography}",
            "{PR:angiography:Pelvic angiogram}",
            "{Side} lower extremity {PR:angiography:angiogram}",
        ),
        indication=(
            "{age}-year-old {sex} with lifestyle-limiting {side} buttock and thigh claudication; "
            "ankle-brachial index 0.{n:55-75} on the {side}.",
            "{Side} lower extremity claudication at one block in a {age}-year-old {sex} smoker; "
            "CTA showed {P:stenosis:stenosis} of the {V:artery.iliac.S}.",
            "{age} y/o {sex}, diabetes, {side} leg claudication, abnormal {MH:duplex:duplex} "
            "with monophasic waveforms at the groin.",
        ),
        study_findings=(
            "{STUDY} demonstrated a {SEV}% {LP} of the {LV}.",
            "{STUDY} showed a heavily calcified {SEV}% {LP} involving the {LV}.",
            "{STUDY} revealed a focal high-grade {LP} of the {LV}; the contralateral "
            "{V:artery.iliac.O} was without significant disease.",
        ),
        impression=(
            "Symptomatic {P:stenosis:stenosis} of the {V:artery.iliac.S}, treated with "
            "{PR:stent:balloon-expandable stent placement}.",
            "Successful {PR:stent:stenting} of the {TV}.",
            "{LP} of the {V:artery.iliac.S}, treated; excellent result.",
        ),
        plan=(
            "Dual antiplatelet therapy for 3 months, statin, supervised exercise; ABI and "
            "arterial {M:duplex:duplex} in 1 month.",
            "Bed rest 2 hours, then ambulate. Aspirin and clopidogrel. Follow-up with ABIs.",
        ),
        completion=ART_COMPLETION,
        extras={
            "angio-only": (
                "The {V:artery.common_femoral.S}, {V:artery.superficial_femoral.S} and "
                "{V:artery.profunda_femoris.S} were patent.",
                "The contralateral {V:artery.common_iliac.O} and {V:artery.external_iliac.O} "
                "were without significant disease.",
            ),
            "landmark": (
                "The {LP} began 1 cm below the {V:artery.aorta} bifurcation.",
                "The origin of the {V:artery.internal_iliac.S} was preserved.",
            ),
        },
    ),
    "filter": Area(
        system="vein",
        study_kind="venography",
        study_words=("cavogram", "venacavogram", "venography"),
        list_study=("{PR:venography:Inferior venacavogram}", "{PR:venography:Cavogram}"),
        indication=(
            "{age}-year-old {sex} with acute {P:thrombus:pulmonary embolism} and {side} "
            "{P:thrombus:DVT}, active gastrointestinal bleeding precluding anticoagulation.",
            "{age} y/o {sex} trauma patient with multiple pelvic fractures, high risk for "
            "venous thromboembolism and contraindication to anticoagulation.",
        ),
        study_findings=(
            "{STUDY} showed a patent {V:vein.inferior_vena_cava} without {P:thrombus:thrombus}.",
        ),
        impression=(
            "Successful infrarenal {V:vein.inferior_vena_cava} "
            "{PR:ivc-filter-placement:filter placement}.",
        ),
        plan=(
            "Filter retrieval should be considered once anticoagulation can be started.",
            "Reassess for filter removal in 4 to 6 weeks.",
        ),
        completion=("Completion images confirmed appropriate filter position.",),
    ),
}


AREAS.update(
    {
        "venous-bilateral": Area(
            system="vein",
            study_kind="venography",
            study_words=("venogram", "venography", "cavogram"),
            list_study=(
                "Bilateral lower extremity {PR:venography:venography}",
                "{PR:venography:Cavogram} and bilateral lower extremity {PR:venography:venogram}",
                "{PR:venography:Bilateral venogram}",
            ),
            indication=(
                "{age}-year-old {sex} with bilateral leg swelling and venous claudication, worse "
                "on the {side}, refractory to 6 months of compression therapy.",
                "Bilateral lower extremity edema and pain (CEAP C3) in a {age} y/o {sex}; "
                "history of {side} {P:thrombus:DVT} {n:3-12} years ago.",
                "{age}-year-old {sex} with chronic bilateral venous insufficiency symptoms and "
                "suspected {P:stenosis:outflow obstruction} of the "
                "{V:vein.iliac.left,vein.iliac.right}.",
            ),
            study_findings=(
                "{STUDY} demonstrated narrowing of the {LV} with cross-pelvic collaterals; the "
                "contralateral side appeared less affected.",
                "{STUDY} showed {SEV}% {LP} of the {LV} and mild narrowing on the other side.",
            ),
            impression=(
                "Outflow disease of the {V:vein.iliac.left,vein.iliac.right}, most severe at the "
                "{LV}, treated with {PR:stent:stent placement}.",
                "{LP} of the {LV}; contralateral disease below treatment threshold.",
            ),
            plan=(
                "Compression stockings, aspirin, and venous {M:duplex:duplex} in 4 weeks.",
                "Follow up in clinic in 1 month; consider contralateral intervention if symptoms "
                "persist.",
            ),
            completion=VEN_COMPLETION,
        ),
        "dvt": Area(
            system="vein",
            study_kind="venography",
            study_words=("venogram", "venography", "ascending venography"),
            list_study=(
                "{Side} lower extremity {PR:venography:venogram}",
                "{PR:venography:Venography}, {side} leg and pelvis",
            ),
            indication=(
                "{age}-year-old {sex} with {n:3-10} days of massive {side} leg swelling and pain; "
                "{MH:duplex:duplex} confirmed acute {P:thrombus:DVT} of the "
                "{V:vein.common_iliac.S,vein.external_iliac.S,vein.common_femoral.S} segment.",
                "Acute {side} {V:vein.common_iliac.S,vein.external_iliac.S,vein.common_femoral.S} "
                "{P:thrombus:DVT} with phlegmasia in a {age} y/o {sex}.",
                "{n:22-39} y/o woman, postpartum, with extensive {side} lower extremity "
                "{P:thrombus:thrombosis} on {MH:duplex:ultrasound}.",
            ),
            study_findings=(
                "{STUDY} demonstrated extensive occlusive {LP} with collateral drainage.",
                "Initial {STUDY} showed filling defects consistent with acute {LP} and no "
                "antegrade flow into the {V:vein.inferior_vena_cava}.",
            ),
            impression=(
                "Acute {side} {V:vein.common_iliac.S,vein.external_iliac.S,vein.common_femoral.S} "
                "{P:thrombus:DVT}, treated with {PR:thrombectomy:mechanical thrombectomy}.",
                "Successful {PR:thrombectomy:thrombectomy} of extensive {side} lower extremity "
                "{P:thrombus:DVT}.",
            ),
            plan=(
                "Therapeutic anticoagulation with apixaban, compression stockings, and venous "
                "{M:duplex:duplex} in 2 weeks.",
                "Heparin drip overnight, transition to oral anticoagulation; clinic in 2 weeks.",
            ),
            completion=(
                "Completion {STUDY} demonstrated restoration of in-line flow with minimal residual "
                "{P:thrombus:thrombus}.",
                "Final {STUDY} showed brisk flow and no significant residual filling defect.",
            ),
        ),
        "central": Area(
            system="vein",
            study_kind="venography",
            study_words=("venogram", "central venogram", "venography"),
            list_study=(
                "{PR:venography:Central venogram}",
                "{PR:venography:Bilateral upper extremity and central venography}",
            ),
            indication=(
                "{age}-year-old {sex} with facial and {side} arm swelling consistent with "
                "{V:vein.superior_vena_cava} syndrome; prior indwelling central venous catheters.",
                "{age} y/o {sex} with progressive head and neck swelling, a pacemaker in place, "
                "and CT showing {P:stenosis:stenosis} of the {V:vein.brachiocephalic.S}.",
                "{Side} upper extremity and facial edema; {P:occlusion:occlusion} of the "
                "{V:vein.brachiocephalic.S} suspected on CT.",
            ),
            study_findings=(
                "{STUDY} demonstrated {SEV}% {LP} of the {LV} with extensive chest wall "
                "collaterals.",
                "{STUDY} showed a tight {LP} of the {LV} with reflux into the "
                "{V:vein.internal_jugular.S}.",
            ),
            impression=(
                "Central venous {LP} at the {LV}, treated with {PR:angioplasty:angioplasty} and "
                "{PR:stent:stent placement}.",
                "Symptomatic {LP} of the {LV}; successful endovascular treatment.",
            ),
            plan=(
                "Aspirin, arm elevation, follow-up {PRP:venography:venography} in 3 months if "
                "symptoms recur.",
                "Clinic in 4 weeks; continue anticoagulation.",
            ),
            completion=(
                "Completion {STUDY} showed brisk flow into the right atrium without collateral "
                "filling.",
                "Final {STUDY} demonstrated resolution of the collaterals.",
            ),
            extras={
                "landmark": (
                    "The {LP} ended just above the inflow of the {V:vein.azygos}.",
                    "The narrowing was at the confluence with the {V:vein.internal_jugular.S}.",
                ),
            },
        ),
        "dialysis": Area(
            system="vein",
            study_kind="angiography",
            study_words=("fistulagram", "fistulogram", "shuntogram"),
            list_study=(
                "{Side} upper extremity {PR:angiography:fistulagram}",
                "{PR:angiography:Dialysis circuit angiography}, {side} arm",
            ),
            indication=(
                "{age} y/o {sex} with end-stage renal disease on hemodialysis via a {side} upper "
                "arm arteriovenous fistula; prolonged bleeding after decannulation and rising "
                "venous pressures.",
                "{age}-year-old {sex} on hemodialysis with {side} arm swelling and poor clearance "
                "through the fistula.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} of the {LV} with collateral outflow.",
                "{STUDY} showed a focal {LP} at the {LV}; the arterial anastomosis was widely "
                "patent.",
            ),
            impression=(
                "Outflow {LP} at the {LV} of the dialysis access, treated with "
                "{PR:angioplasty:balloon angioplasty}.",
                "Dysfunctional fistula due to {LP} of the {LV}; successful "
                "{PR:angioplasty:angioplasty}.",
            ),
            plan=(
                "The access may be used for dialysis today. Surveillance per dialysis unit.",
                "Resume dialysis via the fistula; return for {PRP:angiography:fistulagram} if "
                "dysfunction recurs.",
            ),
            completion=(
                "Completion {STUDY} showed a good thrill and brisk central flow.",
                "Final {STUDY} demonstrated less than 30% residual narrowing.",
            ),
            extras={
                "pressure": (
                    "Intra-access {M:pressure:pressure measurements} decreased from 110 to 45 "
                    "mmHg after treatment.",
                ),
            },
        ),
        "renal-vein": Area(
            system="vein",
            study_kind="venography",
            study_words=("venogram", "renal venogram", "venography"),
            list_study=(
                "{PR:venography:Left renal venogram}",
                "{PR:catheterization:Selective catheterization} of the {V:vein.renal.left}",
                "{PR:venography:Cavogram}",
            ),
            indication=(
                "{age}-year-old {sex} with left flank pain and microscopic hematuria; "
                "{MH:duplex:duplex} suggested nutcracker physiology.",
                "{age} y/o {sex} with pelvic pain and left-sided varicosities; CT showed "
                "{P:compression:compression} of the {V:vein.renal.left}.",
            ),
            study_findings=(
                "{STUDY} showed {P:compression:compression} of the {LV} with reflux into the "
                "{V:vein.gonadal.left}.",
                "{STUDY} demonstrated a {SEV}% {LP} of the {LV} with retroaortic collaterals.",
            ),
            impression=(
                "Nutcracker anatomy with {P:compression:compression} of the {LV}.",
                "Hemodynamically significant {LP} of the {LV}.",
            ),
            plan=(
                "Discuss options (observation, transposition, stenting) in clinic.",
                "Vascular surgery referral for consideration of {V:vein.renal.left} transposition.",
            ),
            completion=("Completion {STUDY} showed improved outflow.",),
            extras={
                "landmark": (
                    "The {LP} was at the point where the vein crosses between the "
                    "{V:artery.superior_mesenteric} and the {V:artery.aorta}.",
                ),
                "pressure": ("{M:pressure:Renocaval pressure gradient} measured {n:3-6} mmHg.",),
            },
        ),
        "portal": Area(
            system="vein",
            study_kind="venography",
            study_words=("portal venogram", "portography", "venogram"),
            list_study=(
                "{PR:venography:Portal venography}",
                "{PR:other:Transjugular intrahepatic portosystemic shunt} creation",
            ),
            indication=(
                "{age}-year-old {sex} with cirrhosis and chronic {P:thrombus:thrombosis} of the "
                "{V:vein.portal}, being evaluated for liver transplantation.",
                "{age} y/o {sex} with refractory variceal bleeding and {P:occlusion:occlusion} "
                "of the {V:vein.portal}.",
            ),
            study_findings=(
                "{STUDY} demonstrated chronic {LP} of the {LV} with cavernous transformation.",
                "{STUDY} showed {SEV}% narrowing of the {LV} and extensive varices.",
            ),
            impression=(
                "Successful recanalization of the {V:vein.portal} with {PR:other:TIPS}.",
                "Chronic {LP} of the {LV}, recanalized and stented.",
            ),
            plan=(
                "Anticoagulation and clinic follow-up in 2 weeks with labs.",
                "Hepatology follow-up; shunt surveillance imaging at 1 month.",
            ),
            completion=("Completion {STUDY} showed brisk flow through the shunt.",),
        ),
    }
)

AREAS.update(
    {
        "fem-pop": Area(
            system="artery",
            study_kind="angiography",
            study_words=("angiogram", "angiography", "runoff angiogram", "arteriogram"),
            list_study=(
                "{Side} lower extremity {PR:angiography:angiogram} with runoff",
                "{PR:angiography:Abdominal aortogram} with {side} lower extremity runoff",
                "{PR:catheterization:Selective catheterization}, {side} lower extremity, third "
                "order",
            ),
            indication=(
                "{age}-year-old {sex} with lifestyle-limiting {side} calf claudication at half a "
                "block; ABI 0.{n:45-70}.",
                "{age} y/o {sex} with {side} ischemic rest pain (Rutherford 4); "
                "{MH:duplex:arterial duplex} showed {P:occlusion:occlusion} of the "
                "{V:artery.superficial_femoral.S}.",
                "Nonhealing {side} heel ulcer in a {age}-year-old diabetic {sex}; toe pressure "
                "28 mmHg.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} of the {LV} with reconstitution distally.",
                "{STUDY} showed a long-segment {LP} of the {LV}; inflow was unremarkable.",
                "{STUDY} revealed a heavily calcified {LP} of the {LV}.",
            ),
            impression=(
                "Disease of the {V:artery.superficial_femoral.S,artery.popliteal.S}, treated with "
                "{PR:atherectomy:atherectomy} and "
                "{PR:angioplasty:drug-coated balloon angioplasty}.",
                "Successful endovascular revascularization of the {TV}.",
                "{LP} of the {LV}, treated; in-line flow to the foot restored.",
            ),
            plan=(
                "Aspirin and clopidogrel for 3 months, high-intensity statin, walking program; "
                "ABI and arterial {M:duplex:duplex} in 4 weeks.",
                "Wound care follow-up, dual antiplatelet therapy, clinic in 2 weeks.",
            ),
            completion=ART_COMPLETION,
            extras={
                "angio-only": (
                    "Runoff was via the {V:artery.anterior_tibial.S} and {V:artery.peroneal.S}; "
                    "the {V:artery.posterior_tibial.S} was occluded.",
                    "The {V:artery.profunda_femoris.S} was patent and gave collaterals.",
                ),
                "landmark": (
                    "The {LP} began just distal to the origin of the "
                    "{V:artery.profunda_femoris.S}.",
                    "The lesion ended at the adductor hiatus, above the knee joint.",
                ),
            },
        ),
        "tibial": Area(
            system="artery",
            study_kind="angiography",
            study_words=("angiogram", "angiography", "runoff angiography"),
            list_study=(
                "{Side} lower extremity {PR:angiography:angiogram} with runoff",
                "{PR:catheterization:Selective catheterization} of the {side} leg, third order",
            ),
            indication=(
                "{age}-year-old diabetic {sex} with a nonhealing {side} forefoot ulcer "
                "(Rutherford 5) and toe pressure of 20 mmHg.",
                "{age} y/o {sex} on dialysis with {side} toe gangrene; critical limb ischemia.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} of the {LV} with poor pedal filling.",
                "{STUDY} showed a long {LP} of the {LV}; the inflow was patent.",
            ),
            impression=(
                "Critical limb ischemia; {PR:angioplasty:angioplasty} "
                "of the {TV} with in-line flow to the foot.",
                "Successful revascularization of the {TV}.",
            ),
            plan=(
                "Podiatry for wound care; dual antiplatelet therapy; clinic in 1 week.",
                "Wound check in 1 week, consider minor amputation if nonhealing.",
            ),
            completion=ART_COMPLETION,
            extras={
                "angio-only": (
                    "The {V:artery.superficial_femoral.S} and {V:artery.popliteal.S} were "
                    "patent without significant disease.",
                ),
            },
        ),
        "renal-artery": Area(
            system="artery",
            study_kind="angiography",
            study_words=("aortogram", "renal angiogram", "angiography"),
            list_study=(
                "{PR:angiography:Abdominal aortogram}",
                "{PR:catheterization:Selective catheterization} of the {V:artery.renal.S} with "
                "{PR:angiography:angiography}",
            ),
            indication=(
                "{age}-year-old {sex} with resistant hypertension on four agents; "
                "{MH:duplex:duplex} showed a peak systolic velocity of {n:280-420} cm/s.",
                "{age} y/o {sex} with flash pulmonary edema and a solitary functioning kidney "
                "on the {side}.",
            ),
            study_findings=(
                "{STUDY} demonstrated an ostial {SEV}% {LP} of the {LV}.",
                "{STUDY} showed {SEV}% {LP} of the {LV} with post-stenotic dilatation.",
            ),
            impression=(
                "Atherosclerotic {LP} of the {LV}, treated with {PR:stent:stent placement}.",
                "Successful {PR:stent:stenting} of the {TV}.",
            ),
            plan=(
                "Continue antihypertensives, aspirin and statin; {M:duplex:duplex} in 1 month.",
                "Monitor creatinine and blood pressure; clinic in 2 weeks.",
            ),
            completion=ART_COMPLETION,
            extras={
                "landmark": (
                    "The {P:plaque:plaque} appeared to originate in the wall of the "
                    "{V:artery.aorta}.",
                ),
                "pressure": (
                    "A translesional {M:pressure:pressure gradient} of {n:20-40} mmHg was "
                    "measured across the lesion.",
                ),
            },
        ),
        "mesenteric": Area(
            system="artery",
            study_kind="angiography",
            study_words=("aortogram", "angiogram", "selective angiography"),
            list_study=(
                "{PR:angiography:Lateral aortogram}",
                "{PR:catheterization:Selective catheterization} of the "
                "{V:artery.superior_mesenteric}",
            ),
            indication=(
                "{age}-year-old {sex} with postprandial abdominal pain, food fear and "
                "{n:8-20} lb weight loss; CTA showed {P:stenosis:stenosis} of the "
                "{V:artery.superior_mesenteric}.",
                "{age} y/o {sex} with chronic mesenteric ischemia.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} at the origin of the {LV}.",
                "{STUDY} showed a heavily calcified ostial {LP} of the {LV}.",
            ),
            impression=(
                "Chronic mesenteric ischemia; successful {PR:stent:stenting} of the {TV}.",
                "{LP} of the {LV}, treated with a balloon-expandable stent.",
            ),
            plan=(
                "Aspirin and clopidogrel; {M:duplex:duplex} at 1 month.",
                "Advance diet as tolerated; clinic in 2 weeks.",
            ),
            completion=ART_COMPLETION,
        ),
        "carotid": Area(
            system="artery",
            study_kind="angiography",
            study_words=("angiogram", "cerebral angiography", "arch aortogram"),
            list_study=(
                "{PR:angiography:Arch aortogram}",
                "{PR:catheterization:Selective catheterization} of the "
                "{V:artery.common_carotid.S} with cervical and cerebral "
                "{PR:angiography:angiography}",
            ),
            indication=(
                "{age}-year-old {sex} with a {side} hemispheric TIA and {SEV}% "
                "{P:stenosis:stenosis} of the {V:artery.internal_carotid.S} on "
                "{MH:duplex:duplex}; hostile neck after radiation.",
                "{age} y/o {sex} with asymptomatic high-grade {P:stenosis:stenosis} of the "
                "{V:artery.internal_carotid.S}, high surgical risk.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} of the {LV}.",
                "{STUDY} showed a {SEV}% ulcerated {LP} involving the {LV}; intracranial "
                "circulation was normal.",
            ),
            impression=(
                "Successful {PR:stent:stenting} of the {TV} with embolic protection.",
                "{LP} of the {LV}, treated; no neurologic change.",
            ),
            plan=(
                "Neurologic checks every hour, dual antiplatelet therapy, {M:duplex:duplex} in "
                "1 month.",
                "ICU overnight for blood pressure control; aspirin and clopidogrel.",
            ),
            completion=(
                "Completion {STUDY} showed a widely patent stent and unchanged intracranial flow.",
            ),
            extras={
                "landmark": (
                    "A filter wire was parked in the distal {V:artery.internal_carotid.S} and "
                    "the {V:artery.external_carotid.S} was preserved.",
                ),
            },
        ),
        "subclavian": Area(
            system="artery",
            study_kind="angiography",
            study_words=("arch aortogram", "angiogram", "angiography"),
            list_study=(
                "{PR:angiography:Arch aortogram}",
                "{Side} upper extremity {PR:angiography:angiography}",
            ),
            indication=(
                "{age}-year-old {sex} with {side} arm claudication and dizziness with arm "
                "exercise; a 40 mmHg inter-arm blood pressure difference; {MH:duplex:duplex} "
                "showed retrograde flow in the {V:artery.vertebral.S}.",
                "{age} y/o {sex} with {side} arm fatigue and digital ischemia.",
            ),
            study_findings=(
                "{STUDY} demonstrated a {SEV}% {LP} of the proximal {LV}.",
                "{STUDY} showed {P:occlusion:occlusion} of the {LV} with reconstitution via "
                "the {V:artery.vertebral.S}.",
            ),
            impression=(
                "{LP} of the {LV}, treated with {PR:stent:stenting}.",
                "Successful revascularization of the {TV}.",
            ),
            plan=("Aspirin and clopidogrel; arm pressures at follow-up in 1 month.",),
            completion=ART_COMPLETION,
            extras={
                "landmark": (
                    "The origin of the {V:artery.vertebral.S} was 1 cm distal to the lesion and "
                    "was preserved.",
                ),
            },
        ),
        "evar": Area(
            system="artery",
            study_kind="angiography",
            study_words=("aortogram", "angiography", "arteriogram"),
            list_study=(
                "{PR:angiography:Abdominal aortogram}",
                "{PR:endograft:Endovascular aneurysm repair}",
            ),
            indication=(
                "{age}-year-old {sex} with a {n:55-68} mm {P:aneurysm:aneurysm} of the "
                "infrarenal {V:artery.aorta}, enlarging.",
                "{age} y/o {sex} with an asymptomatic {P:aneurysm:aneurysm} of the "
                "{V:artery.aorta}, {n:56-64} mm on CT, and chronic kidney disease limiting "
                "contrast.",
            ),
            study_findings=(
                "{STUDY} demonstrated the {P:aneurysm:aneurysm} beginning 2 cm below the "
                "origin of the {V:artery.renal.left}.",
            ),
            impression=(
                "Successful {PR:endograft:EVAR} of the {P:aneurysm:aneurysm} with no endoleak.",
                "{P:aneurysm:Aneurysm} of the {V:artery.aorta} repaired with "
                "{PR:endograft:endovascular aneurysm repair}.",
            ),
            plan=(
                "CTA in 1 month for endoleak surveillance.",
                "Overnight observation; surveillance imaging in 4 weeks.",
            ),
            completion=(
                "Completion {STUDY} showed exclusion of the {P:aneurysm:aneurysm} without "
                "endoleak.",
            ),
        ),
        "tevar": Area(
            system="artery",
            study_kind="angiography",
            study_words=("aortogram", "angiography", "thoracic aortogram"),
            list_study=(
                "{PR:angiography:Thoracic and abdominal aortogram}",
                "{PR:endograft:TEVAR}",
            ),
            indication=(
                "{age}-year-old {sex} with complicated type B {P:dissection:dissection} with "
                "refractory pain and {side} leg malperfusion.",
                "{age} y/o {sex} with acute type B {P:dissection:dissection} and rapid "
                "expansion of the false lumen.",
            ),
            study_findings=(
                "{STUDY} demonstrated the entry tear distal to the {V:artery.subclavian.left} "
                "with a compressed true lumen.",
            ),
            impression=(
                "Complicated type B {P:dissection:dissection}, treated with "
                "{PR:endograft:TEVAR} with true lumen expansion.",
            ),
            plan=("ICU, blood pressure control, CTA in 1 month.",),
            completion=(
                "Completion {STUDY} showed coverage of the entry tear and improved true lumen "
                "flow.",
            ),
        ),
        "pulmonary": Area(
            system="artery",
            study_kind="angiography",
            study_words=("pulmonary angiogram", "pulmonary angiography", "angiogram"),
            list_study=(
                "{PR:catheterization:Right heart catheterization}",
                "Selective {PR:angiography:pulmonary angiography}",
            ),
            indication=(
                "{age}-year-old {sex} with chronic thromboembolic pulmonary hypertension, "
                "inoperable, WHO class III.",
                "{age} y/o {sex} with CTEPH after prior {P:thrombus:pulmonary emboli}, referred "
                "for staged {PR:angioplasty:balloon pulmonary angioplasty}.",
            ),
            study_findings=(
                "{STUDY} demonstrated webs and {P:occlusion:occlusions} in the lower lobe "
                "segmental branches.",
            ),
            impression=(
                "CTEPH; {PR:angioplasty:balloon pulmonary angioplasty} session completed.",
            ),
            plan=("Next staged session in 4 weeks; continue anticoagulation.",),
            completion=("Completion {STUDY} showed improved segmental perfusion.",),
            extras={
                "pressure": (
                    "{M:pressure:Right heart pressures} were recorded: mean pressure {n:30-48} "
                    "mmHg, PVR {n:4-9} Wood units.",
                ),
            },
        ),
    }
)

AREAS.update(
    {
        "coronary": Area(
            system="coronary",
            study_kind="angiography",
            study_words=("angiography", "angiogram"),
            list_study=(
                "{PR:catheterization:Left heart catheterization}",
                "Selective {V:coronary.unspecified} {PR:angiography:angiography}",
            ),
            indication=(
                "{age}-year-old {sex} with non-ST-elevation myocardial infarction and troponin "
                "rise.",
                "{age} y/o {sex} with progressive exertional angina despite medical therapy and "
                "an abnormal stress test.",
            ),
            study_findings=(
                "Selective {V:coronary.unspecified} {STUDY} demonstrated a {SEV}% {LP} of the "
                "proximal {LV}.",
                "{STUDY} showed a {SEV}% calcified {LP} in the mid {LV}; the "
                "{V:coronary.left_main} was without significant disease.",
            ),
            impression=(
                "Single-vessel disease, treated with {PR:stent:drug-eluting stent placement} to "
                "the {TV}.",
                "Successful {PR:intervention:PCI} of the {TV}.",
            ),
            plan=(
                "Dual antiplatelet therapy for 12 months, high-intensity statin, cardiac "
                "rehabilitation.",
                "Aspirin indefinitely and ticagrelor for 12 months.",
            ),
            completion=(
                "Final {STUDY} showed TIMI 3 flow with no residual {P:stenosis:stenosis}.",
            ),
            extras={
                "ffr": (
                    "{M:ffr:FFR} across the lesion was 0.{n:68-78}.",
                    "{M:ffr:Fractional flow reserve} measured 0.{n:66-79}, confirming "
                    "significance.",
                ),
            },
        ),
        "filter-retrieval": Area(
            system="vein",
            study_kind="venography",
            study_words=("cavogram", "venacavogram", "venography"),
            list_study=(
                "{PR:venography:Inferior venacavogram}",
                "{PR:venography:Cavogram}",
            ),
            indication=(
                "{age}-year-old {sex} with a retrievable {V:vein.inferior_vena_cava} filter "
                "{PRH:ivc-filter-placement:placed} {n:3-16} months ago after trauma, now "
                "tolerating anticoagulation; referred for removal.",
                "{age} y/o {sex} with a long-dwelling filter in the "
                "{V:vein.inferior_vena_cava}; prior retrieval attempt failed.",
            ),
            study_findings=(
                "{STUDY} showed the filter in the {V:vein.inferior_vena_cava} with its hook "
                "embedded in the caval wall and no trapped {P:thrombus:thrombus}.",
                "{STUDY} demonstrated a patent {V:vein.inferior_vena_cava} with a tilted filter.",
            ),
            impression=(
                "Successful {PR:ivc-filter-retrieval:filter retrieval}.",
                "{V:vein.inferior_vena_cava} filter removed intact.",
            ),
            plan=("Continue anticoagulation as prescribed; no further follow-up for the filter.",),
            completion=("Completion {STUDY} showed no extravasation or caval injury.",),
        ),
        "foreign-body": Area(
            system="vein",
            study_kind="venography",
            study_words=("venogram", "venography", "cavogram"),
            list_study=("{PR:venography:Venography}",),
            indication=(
                "{age}-year-old {sex} with a fractured port catheter; chest radiograph showed a "
                "fragment projecting over the heart.",
                "{age} y/o {sex} with a retained guidewire fragment after central line "
                "placement at an outside hospital.",
            ),
            study_findings=(
                "{STUDY} confirmed a linear radiopaque fragment without surrounding "
                "{P:thrombus:thrombus}.",
            ),
            impression=(
                "Successful percutaneous {PR:foreign-body-retrieval:retrieval} of an "
                "intravascular foreign body.",
            ),
            plan=("Routine post-procedure care; no further intervention.",),
            completion=("Completion images showed no residual fragment.",),
        ),
        "ice": Area(
            system="vein",
            study_kind="catheterization",
            study_words=("right heart catheterization",),
            list_study=("{PR:catheterization:Right heart catheterization}",),
            indication=(
                "{age}-year-old {sex} with cryptogenic stroke and a patent foramen ovale with "
                "large right-to-left shunt on bubble study.",
                "{age} y/o {sex} with recurrent embolic events and PFO.",
            ),
            study_findings=(
                "{STUDY} showed normal {M:pressure:right-sided pressures} and no step-up.",
            ),
            impression=(
                "Successful {PR:intervention:PFO closure} under {M:ice:intracardiac echo} "
                "guidance.",
            ),
            plan=(
                "Aspirin and clopidogrel for 3 months; {M:tee:TEE} at 6 months to assess for "
                "residual shunt.",
            ),
            completion=(),
            extras={
                "ice": (
                    "An 8 French {M:ice:AcuNav} catheter was advanced to the right atrium via the "
                    "{V:vein.common_femoral.O} and {M:ice:intracardiac echocardiography} "
                    "demonstrated the PFO with a long tunnel.",
                    "{M:ice:ICE} imaging from the right atrium was used to guide the transseptal "
                    "crossing and confirm device position.",
                ),
                "item-closure": ("{PR:intervention:Percutaneous PFO closure}",),
                "item-ice": ("{M:ice:Intracardiac echocardiography} guidance",),
                "closure": (
                    "A 25 mm Amplatzer PFO occluder was {PR:intervention:deployed} across the "
                    "septum after balloon sizing.",
                    "The septal occluder was {PR:intervention:implanted} and a push-pull test "
                    "confirmed stability.",
                ),
                "ice-result": (
                    "Final {M:ice:ICE} images showed a well-seated 25 mm occluder with no "
                    "residual shunt.",
                ),
            },
        ),
    }
)

NO_SIDE_VEIN = {
    "indication": (
        "{age}-year-old {sex} with unilateral leg swelling and venous claudication; cross-"
        "sectional imaging suggested {P:compression:compression} of the {V:vein.common_iliac}.",
        "Chronic leg swelling in a {age} y/o {sex}, history of {P:thrombus:DVT}, referred for "
        "evaluation of venous outflow obstruction.",
    ),
    "list_study": (
        "{PR:venography:Venogram}",
        "{PR:venography:Pelvic venography}",
    ),
    "study_findings": (
        "{STUDY} demonstrated {SEV}% narrowing of the {LV} with pelvic collaterals.",
        "{STUDY} showed narrowing of the {LV} with collateral filling.",
    ),
    "impression": (
        "{P:compression:Compression} of the {V:vein.common_iliac}, treated with "
        "{PR:stent:stent placement}.",
    ),
    "plan": ("Compression stockings, aspirin, follow-up {M:duplex:duplex} in 4 weeks.",),
}
NO_SIDE_ARTERY = {
    "indication": (
        "{age}-year-old {sex} with calf claudication at one block; ABI 0.{n:50-70}.",
        "{age} y/o {sex} with lifestyle-limiting claudication, failed exercise therapy.",
    ),
    "list_study": ("Lower extremity {PR:angiography:angiogram} with runoff",),
    "study_findings": (
        "{STUDY} demonstrated a {SEV}% {LP} of the {LV}.",
        "{STUDY} showed a calcified {LP} of the mid {LV}.",
    ),
    "impression": (
        "{P:stenosis:Stenosis} of the {V:artery.superficial_femoral}, treated with "
        "{PR:angioplasty:angioplasty}.",
    ),
    "plan": ("Antiplatelet therapy, statin, ABI in 1 month.",),
}


# =============================================================================================
# Boilerplate pools (no markup)
# =============================================================================================
CONSENT = (
    "Informed consent was obtained after discussion of the risks, benefits and alternatives.",
    "The risks, benefits and alternatives were discussed and written consent was obtained.",
    "Consent was signed and is in the chart.",
)
TIMEOUT = (
    "A time-out was performed confirming patient, procedure and site.",
    "Universal protocol and time-out were completed.",
    "Time out performed.",
)
PREP = (
    "The patient was placed supine on the procedure table and prepped and draped in the "
    "usual sterile fashion.",
    "The patient was positioned supine, and the access site was prepped and draped sterilely.",
    "The patient was brought to the hybrid suite and placed in the prone position; the "
    "access site was prepped and draped.",
)
SEDATION = (
    "Moderate sedation with midazolam and fentanyl was administered by a trained nurse under "
    "my direct supervision; intraservice time {n:25-70} minutes.",
    "Monitored anesthesia care by the anesthesia team.",
    "General endotracheal anesthesia.",
    "Local anesthesia with 1% lidocaine and moderate sedation.",
)
HEPARIN = (
    "Heparin {n:3-8},000 units IV was given.",
    "Systemic heparinization was achieved with an ACT above 250 seconds.",
    "The patient was heparinized.",
)
CLOSURE = (
    "The sheath was removed and hemostasis was achieved with manual pressure.",
    "At the end of the case the sheath was removed and a figure-of-eight suture placed; "
    "hemostasis was excellent.",
    "Hemostasis was obtained with a closure device.",
    "Sheath pulled, manual compression for 15 minutes, no hematoma.",
)
TAIL = (
    "Estimated blood loss: minimal. Complications: none. The patient tolerated the procedure "
    "well and left the suite in stable condition.",
    "EBL less than 20 mL. No immediate complications.",
    "Contrast: {n:40-160} mL Omnipaque 300. Fluoroscopy time: {n:6-35} minutes. No complications.",
    "Specimens: none. Complications: none. Disposition: recovery area.",
)
DEVICES_STENT_VEIN = (
    "a {n:14-18} x {n:6-12}0 mm Abre self-expanding stent",
    "a {n:14-18} x {n:6-12}0 mm Venovo stent",
    "a {n:14-20} x {n:6-9}0 mm Wallstent",
    "a {n:14-16} x {n:6-12}0 mm Vici stent",
)
DEVICES_STENT_ARTERY = (
    "a {n:7-10} x {n:3-6}9 mm Omnilink Elite balloon-expandable stent",
    "a {n:7-10} x {n:4-8}0 mm Lifestream stent",
    "a {n:7-9} x {n:4-8}0 mm VBX covered stent",
    "a {n:7-10} x {n:4-8}0 mm Express LD stent",
)


HISTORY = (
    "Past medical history: hypertension, hyperlipidemia and type 2 diabetes. Medications "
    "reviewed. Allergies: no known drug allergies.",
    "PMH: obesity, GERD, hypothyroidism, CKD stage 3. Allergy to iodinated contrast "
    "(hives); premedicated with prednisone and diphenhydramine per protocol.",
    "Other history: atrial fibrillation on anticoagulation, held for 48 hours; COPD; former "
    "smoker with a 30 pack-year history.",
    "History also notable for depression and chronic low back pain. Creatinine 1.{n:0-4} "
    "mg/dL before the procedure.",
    "Social history: lives with family, independent in daily activities, works part-time. "
    "Functional status limited by the presenting symptoms for several months.",
    "Preprocedure labs: hemoglobin {n:10-14} g/dL, platelets {n:150-320}K, INR 1.{n:0-2}. "
    "NPO after midnight was confirmed.",
)
TECHNIQUE = (
    "A 0.035-inch Bentson wire was advanced under fluoroscopic guidance, followed by a 5 French "
    "Kumpe catheter.",
    "The wire was exchanged for a stiff Amplatz wire through the catheter to provide support.",
    "Roadmapping technique was used throughout, and all catheter exchanges were performed over "
    "a wire.",
    "A long 45 cm sheath was positioned for support, and a Glidewire Advantage was used to "
    "cross the lesion without difficulty.",
    "Multiple oblique projections were obtained to profile the lesion.",
    "Lidocaine 1% was infiltrated at the access site and a small skin nick was made.",
    "A micropuncture set was used and the tract was dilated sequentially before sheath placement.",
)
AFTERCARE = (
    "The patient was transferred to the recovery area in stable condition with unchanged "
    "distal perfusion.",
    "The findings and plan were discussed with the patient and family at the bedside.",
    "I was present and scrubbed for the entire procedure, including all imaging and "
    "interpretation.",
    "Air kerma {n:150-900} mGy; fluoroscopy time {n:8-40} minutes; contrast {n:40-160} mL.",
    "Post-procedure orders placed: bed rest, access site checks every 15 minutes for one hour, "
    "resume home medications.",
    "Risks discussed before the procedure included bleeding, infection, vessel injury, "
    "contrast reaction, and the possible need for further procedures.",
    "The patient will be observed in the recovery unit and discharged later today if the "
    "access site remains stable and the patient is ambulatory.",
)


DISCUSSION = (
    "The decision to treat was based on the symptoms and the imaging appearance, which were "
    "concordant.",
    "The patient and family were updated and all questions were answered.",
    "Images were archived to PACS and reviewed with the referring team.",
)


def slip(text: str, rng: random.Random) -> str:
    """Introduce one dictation slip into a plain (markup-free) sentence."""
    words = text.split(" ")
    choice = rng.random()
    if choice < 0.35 and len(words) > 4:
        i = rng.randrange(1, len(words) - 1)
        words.insert(i, words[i])
    elif choice < 0.6:
        words[0] = words[0].lower()
    elif choice < 0.8:
        return text.rstrip(".")
    else:
        return text.replace(" the ", " teh ", 1) if " the " in text else text
    return " ".join(words)


# =============================================================================================
# Writer: renders a scenario as marked-up note text
# =============================================================================================
HEADINGS: dict[str, tuple[str, ...]] = {
    "procedures": ("Procedures performed", "Procedure(s)", "Procedures", "Operation performed"),
    "indication": ("Indication", "Indications", "Clinical history", "History"),
    "anesthesia": ("Anesthesia", "Sedation"),
    "description": ("Description of procedure", "Procedure details", "Technique", "Procedure"),
    "ivus": ("findings",),
    "findings": ("Findings", "Imaging findings", "Diagnostic findings"),
    "impression": ("Impression", "Conclusion", "Summary", "Assessment"),
    "plan": ("Plan", "Recommendations", "Disposition and plan"),
    "tail": ("Estimated blood loss / complications", "Complications", "Other"),
}


def a_an(markup: str) -> str:
    plain = re.sub(r"\|[^\]]*\]\]", "", markup).replace("[[", "")
    return "an" if plain[:1].lower() in "aeiou" else "a"


class Writer:
    """Renders one scenario; ``tags`` collects what the rendering exercised."""

    def __init__(self, sc: Scenario, style: Style, rng: random.Random) -> None:
        self.sc, self.style, self.rng = sc, style, rng
        self.mk = Mk(rng, style)
        self.area = AREAS[sc.area]
        self.tags: set[str] = set()
        self.passages: list[str] = []
        age = rng.randint(*sc.age)
        sex = rng.choice(["female", "male", "woman", "man"])
        self.ctx = Ctx(self.mk, sc.side, age, sex, self._slots())

    # -- slots for the area pools -------------------------------------------------------------
    def _slots(self) -> dict[str, Callable[[], str]]:
        sc, mk, rng = self.sc, self.mk, self.rng
        lesion = sc.lesions[0] if sc.lesions else None
        treat = sc.treatments[0] if sc.treatments else None
        study_kind = self.area.study_kind
        return {
            "LV": lambda: mk.vessel([lesion.vessels[0]])[0] if lesion else "the vessel",
            "LP": lambda: mk.pathology(lesion.kind, lesion.words) if lesion else "disease",
            "SEV": lambda: str(lesion.severity) if lesion else "50",
            "TV": lambda: mk.vessel([treat.vessels[0]])[0] if treat else "target vessel",
            "DEV": lambda: fill(treat.device, self.ctx) if treat else "a balloon",
            "STUDY": lambda: mk.procedure(study_kind, rng.choice(self.area.study_words)),
            "STUDY_W": lambda: mk.procedure(study_kind, rng.choice(self.area.study_words)),
        }

    def pool(self, key: str) -> Sequence[str]:
        """A phrasing pool: the scenario's override, else the area's."""
        if key in self.sc.pools:
            return self.sc.pools[key]
        value = getattr(self.area, key, None)
        return value if value is not None else self.area.extras[key]

    def t(self, pool: Sequence[str]) -> str:
        return cap(pick(self.rng, pool, self.ctx))

    def plain(self, pool: Sequence[str]) -> str:
        text = fill(self.rng.choice(pool), self.ctx)
        if self.style.slips and self.rng.random() < 0.3:
            self.tags.add("dictation-slips")
            text = slip(text, self.rng)
        return text

    def heading(self, key: str) -> str:
        if self.style.headings == "none":
            return ""
        word = self.rng.choice(HEADINGS[key])
        return (word.upper() if self.style.headings == "caps" else title_case(word)) + ":"

    # -- vessel lists -------------------------------------------------------------------------
    def chunks(self, vids: Sequence[str]) -> list[list[str]]:
        rest, out = list(vids), []
        while rest:
            vid = rest.pop(0)
            base, side = split_side(vid)
            twin = with_side(base, other_side(side)) if side else None
            partner = next(
                (
                    w
                    for w in rest
                    if side and split_side(w)[1] == side and (base, split_side(w)[0]) in COORDINATED
                ),
                None,
            )
            if twin in rest and base in NAMES and NAMES[base].noun and self.rng.random() < 0.6:
                rest.remove(twin)
                out.append([vid, twin])
            elif partner and self.rng.random() < 0.5:
                rest.remove(partner)
                out.append([vid, partner])
            else:
                out.append([vid])
        return out

    def vessel_list(self, vids: Sequence[str], links: Sequence[str]) -> str:
        parts = [self.mk.vessel(chunk, links)[0] for chunk in self.chunks(vids)]
        if len(parts) > 1 and any(len(c) > 1 for c in parts):
            pass
        return join_and(parts, self.rng)

    # -- IVUS runs ----------------------------------------------------------------------------
    def findings_text(self, findings: Sequence[Finding], of: str, terse: bool = False) -> str:
        parts = [self.mk.finding(f, [of], terse) for f in findings]
        if terse:
            return ", ".join(parts)
        return join_and(parts) if self.rng.random() < 0.6 else " with ".join(parts)

    def finding_sentence(self, vid: str, findings: Sequence[Finding], links: Sequence[str]) -> str:
        rng, mk = self.rng, self.mk
        choice = rng.randrange(7)
        if choice == 0:
            own, own_ids = mk.ivus()
            vm, sid = mk.vessel([vid], own_ids)
            return cap(f"{own} of the {vm} demonstrated {self.findings_text(findings, sid)}.")
        if choice == 1:
            own, own_ids = mk.ivus()
            vm, sid = mk.vessel([vid], own_ids)
            return f"In the {vm}, {own} showed {self.findings_text(findings, sid)}."
        vm, sid = mk.vessel([vid], links)
        text = self.findings_text(findings, sid)
        if choice == 2:
            return f"The {vm} showed {text}."
        if choice == 3:
            return f"At the {vm} there was {text}."
        if choice == 4:
            plain_findings = ", ".join(mk.finding(f, [sid], True) for f in findings)
            return f"Measurements in the {vm}: {plain_findings}."
        if choice == 5:
            return f"For the {vm}, measurements included {text}."
        return cap(f"{text} was measured in the {vm}.")

    def run_findings(self, run: Run, links: Sequence[str], skip: Sequence[str] = ()) -> list[str]:
        return [
            self.finding_sentence(vid, run.findings[vid], links)
            for vid in run.vessels
            if run.findings.get(vid) and vid not in skip
        ]

    def render_run(self, run: Run) -> list[str]:
        """Sentences of one IVUS run (a passage run also fills ``self.passages``)."""
        if self.style.terse and run.mode in ("list", "passage", "follow-on", "extent"):
            return [self.terse_run(run)]
        method = getattr(self, f"run_{run.mode.replace('-', '_')}")
        return method(run)

    def run_list(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        ivus, ids = mk.ivus()
        vlist = self.vessel_list(run.vessels, ids)
        intro = rng.choice(
            [
                f"{ivus} of the {vlist} was then performed.",
                f"Next, {ivus} interrogation of the {vlist} was carried out.",
                f"The {vlist} {'were' if len(run.vessels) > 1 else 'was'} interrogated with "
                f"{ivus}.",
                f"{ivus} was performed of the {vlist}.",
                f"{ivus} was used to interrogate the {vlist}.",
                f"We then imaged the {vlist} with {ivus}.",
                f"{ivus} evaluation of the {vlist} followed.",
            ]
        )
        if self.style.devices and rng.random() < 0.6:
            ivus, ids = mk.ivus(form="device")
            vlist = self.vessel_list(run.vessels, ids)
            intro = rng.choice(
                [
                    f"{ivus} interrogation of the {vlist} was performed.",
                    f"The {vlist} {'were' if len(run.vessels) > 1 else 'was'} imaged with "
                    f"the {ivus} catheter.",
                    f"{ivus} imaging of the {vlist} was then obtained.",
                ]
            )
        elif self.style.slips and rng.random() < 0.3:
            ivus, ids = mk.ivus(form="IVUS'd")
            vlist = self.vessel_list(run.vessels, ids)
            verb = "were" if len(run.vessels) > 1 else "was"
            intro = f"The {vlist} {verb} then {ivus} from top to bottom."
            self.tags.add("dictation-slips")
        return [cap(intro), *self.run_findings(run, ids)]

    def run_extent(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        assert run.ends is not None
        device = self.style.devices and rng.random() < 0.6
        ivus, ids = mk.ivus(form="device" if device else "auto")
        ma, ia = mk.vessel([run.ends[0]], ids)
        mb, ib = mk.vessel([run.ends[1]], ids)
        word = rng.choice(["to", "to", "through", "down to"])
        extent = mk.extent(f"{ma} {word} the {mb}", "imaging", ia, ib)
        self.tags.add("extent-pullback")
        if device:
            return [
                cap(f"{ivus} pullback was performed from the {extent}."),
                *self.run_findings(run, ids),
            ]
        intro = rng.choice(
            [
                f"{ivus} pullback was performed from the {extent}.",
                f"{ivus} was then performed from the {extent}.",
                f"{a_an(ivus).capitalize()} {ivus} run was obtained from the {extent}.",
                f"Pullback {ivus} from the {extent} was performed.",
            ]
        )
        return [cap(intro), *self.run_findings(run, ids)]

    def run_follow_on(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        ivus, ids = mk.ivus()
        self.tags.add("follow-on")
        intro = rng.choice(
            [
                f"{ivus} was then performed.",
                f"Next, {ivus} was carried out through the sheath.",
                f"We then performed {ivus}.",
            ]
        )
        out = [cap(intro)]
        for n, vid in enumerate(v for v in run.vessels if run.findings.get(v)):
            vm, sid = mk.vessel([vid], ids)
            text = self.findings_text(run.findings[vid], sid)
            if n == 0:
                out.append(
                    rng.choice(
                        [f"It demonstrated {text} in the {vm}.", f"This showed {text} at the {vm}."]
                    )
                )
            else:
                out.append(
                    rng.choice([f"The {vm} showed {text}.", f"In the {vm} there was {text}."])
                )
        return out

    def run_passage(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        ivus, ids = mk.ivus()
        self.tags.add("findings-passage")
        intro = rng.choice(
            [
                f"Diagnostic {ivus} was performed and the images were reviewed; measurements are "
                "listed below.",
                f"{ivus} interrogation was then carried out (see findings).",
                f"{ivus} was performed with the findings below.",
            ]
        )
        head, head_ids = mk.ivus(form=rng.choice(["IVUS", "IVUS", "Intravascular ultrasound"]))
        links = ids + head_ids
        lines = []
        for vid in run.vessels:
            vm, sid = mk.vessel([vid], links)
            if run.findings.get(vid):
                lines.append(f"{cap(vm)}: {self.findings_text(run.findings[vid], sid, True)}.")
            else:
                lines.append(f"{cap(vm)}: imaged.")
        bullet = rng.choice(["", "- ", "* "])
        if self.style.headings == "none":
            self.passages.append(f"{head} findings: " + " ".join(lines))
        else:
            title = "FINDINGS:" if self.style.headings == "caps" else "Findings:"
            if head.startswith("[[Intravascular") and self.style.headings == "caps":
                head = head.replace("[[Intravascular ultrasound|", "[[INTRAVASCULAR ULTRASOUND|")
            self.passages.append(f"{head} {title}\n" + "\n".join(bullet + ln for ln in lines))
        return [cap(intro)]

    def run_lesion(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        assert run.lesion is not None and run.ends is not None
        lesion = run.lesion
        ivus, ids = mk.ivus()
        ma, ia = mk.vessel([run.ends[0]], ids)
        mb, ib = mk.vessel([run.ends[1]], ids)
        word = rng.choice(["into", "into", "through", "to"])
        prefix = "from the "
        extent = mk.extent(f"{ma} {word} the {mb}", "lesion", ia, ib)
        path = mk.pathology(lesion.kind, lesion.words)
        self.tags.add("continuous-lesion")
        first = run.ends[0]
        fdesc = (
            self.findings_text(run.findings.get(first, []), ia) if run.findings.get(first) else ""
        )
        tail = f", with {fdesc} at the tightest point" if fdesc else ""
        intro = rng.choice(
            [
                f"{ivus} demonstrated {path} extending {prefix}{extent}{tail}.",
                f"On {ivus}, there was continuous {path} {prefix}{extent}{tail}.",
                f"{ivus} showed a single continuous {path} spanning {prefix}{extent}{tail}.",
            ]
        )
        return [cap(intro), *self.run_findings(run, ids, skip=[first])]

    def run_post(self, run: Run) -> list[str]:
        mk, rng = self.mk, self.rng
        if run.role == "post":
            self.tags.add("pre-post")
        out = []
        for vid in run.vessels:
            if not run.findings.get(vid):
                continue
            ivus, ids = mk.ivus()
            vm, sid = mk.vessel([vid], ids)
            text = self.findings_text(run.findings[vid], sid)
            treat = self.sc.treatments[-1] if self.sc.treatments else None
            after = mk.procedure(treat.kind, treat.words) if treat else "treatment"
            out.append(
                cap(
                    rng.choice(
                        [
                            f"After {after}, {ivus} of the {vm} showed {text}.",
                            f"Completion {ivus} of the {vm} demonstrated {text}.",
                            f"Repeat {ivus} of the {vm} showed {text}.",
                            f"Final {ivus} confirmed {text} in the {vm}.",
                            f"Follow-up {ivus} run through the {vm} showed {text}.",
                        ]
                    )
                )
            )
        return out

    def run_none(self, run: Run) -> list[str]:
        ivus, _ = self.mk.ivus()
        return [
            cap(
                self.rng.choice(
                    [
                        f"{ivus} was used to confirm intraluminal position of the wire.",
                        f"{ivus} was utilized to size the balloon.",
                        f"{ivus} was performed to confirm true lumen re-entry.",
                    ]
                )
            )
        ]

    def terse_run(self, run: Run) -> str:
        mk = self.mk
        ivus, ids = mk.ivus(form="IVUS")
        items = []
        for vid in run.vessels:
            vm, sid = mk.vessel([vid], ids)
            if run.findings.get(vid):
                items.append(f"{vm} {self.findings_text(run.findings[vid], sid, True)}")
            else:
                items.append(vm)
        self.tags.add("findings-passage")
        return f"{ivus}: " + "; ".join(items) + "."

    # -- procedure list -----------------------------------------------------------------------
    def list_items(self) -> list[str]:
        sc, mk, rng = self.sc, self.mk, self.rng
        items: list[str] = []
        if sc.study and self.pool("list_study"):
            items.append(self.t(self.pool("list_study")))
        for run in sc.runs:
            if run.role in ("post", "coronary-post") or run.mode == "none":
                continue
            items.append(self.ivus_item(run, self.style.headings == "none"))
        for treat in sc.treatments:
            if treat.item:
                items.append(self.t([treat.item]))
                continue
            proc = mk.procedure(treat.kind, treat.words)
            vm = mk.vessel(treat.vessels[:1])[0]
            items.append(cap(rng.choice([f"{proc} of the {vm}", f"{proc}, {vm}"])))
        items.extend(self.t(pool) for pool in self.list_extras())
        return items

    def list_extras(self) -> list[Sequence[str]]:
        return [self.pool(k) for k in self.sc.extras if k.startswith("item-")]

    def ivus_item(self, run: Run, in_sentence: bool = False) -> str:
        mk, rng = self.mk, self.rng
        ivus, ids = mk.ivus()
        count = ""
        if self.sc.stated_count and run.role == "diagnostic":
            count = f" ({self.sc.stated_count} vessels)"
        if run.ends and len(run.vessels) > 3 and rng.random() < 0.6:
            ma, ia = mk.vessel([run.ends[0]], ids)
            mb, ib = mk.vessel([run.ends[1]], ids)
            self.tags.add("extent-pullback")
            kind = "lesion" if run.mode == "lesion" else "imaging"
            if kind == "lesion":
                kind = "imaging"
            extent = mk.extent(f"{ma} to the {mb}", kind, ia, ib)
            return cap(f"{ivus} from the {extent}{count}")
        vlist = self.vessel_list(run.vessels, ids)
        if in_sentence:
            return cap(f"{ivus} of the {vlist}{count}")
        return cap(
            rng.choice(
                [
                    f"{ivus} of the {vlist}{count}",
                    f"{ivus}{count}: {vlist}",
                    f"{ivus}, {vlist}{count}",
                ]
            )
        )

    def procedure_section(self) -> str:
        items = self.list_items()
        if not items:
            return ""
        if self.style.headings == "none":
            lowered = [decap(i) for i in items]
            return cap(
                self.rng.choice(
                    [
                        f"The patient underwent {join_and(lowered, self.rng)} today.",
                        f"Procedures today: {'; '.join(lowered)}.",
                    ]
                )
            )
        if self.style.numbered:
            self.tags.add("numbered-list")
            body = "\n".join(f"{n}. {item}." for n, item in enumerate(items, 1))
        elif self.rng.random() < 0.5:
            body = "\n".join(f"- {item}" for item in items)
        else:
            body = "; ".join(items) + "."
        return f"{self.heading('procedures')}\n{body}"

    # -- narrative pieces ---------------------------------------------------------------------
    def access_sentences(self) -> list[str]:
        mk, rng = self.mk, self.rng
        out = []
        if not self.sc.access:
            guide = mk.modality("us-guided-access", "ultrasound guidance")
            self.tags.add("us-access")
            out.append(
                f"Access was obtained under {guide} and a {rng.choice([8, 10])} French "
                "sheath was placed."
            )
        for vid in self.sc.access:
            vm = mk.vessel([vid])[0]
            self.tags.add("access-vessel")
            sheath = rng.choice([6, 7, 8, 9, 10, 11, 12])
            if self.sc.us_access:
                self.tags.add("us-access")
                guide = mk.modality(
                    "us-guided-access",
                    rng.choice(
                        [
                            "ultrasound guidance",
                            "real-time ultrasound guidance",
                            "sonographic guidance",
                        ]
                    ),
                )
                if self.style.terse:
                    out.append(f"Access: {vm}, under {guide}, {sheath} Fr sheath.")
                    continue
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"Under {guide}, the {vm} was accessed with a micropuncture "
                                f"needle and a {sheath} French sheath was placed.",
                                f"{vm} access was obtained using {guide} and a {sheath} Fr "
                                "sheath was inserted.",
                                f"The {vm} was punctured under {guide}; a {sheath} French "
                                "sheath was advanced over a wire.",
                            ]
                        )
                    )
                )
            else:
                if self.style.terse:
                    out.append(f"Access: {vm}, {sheath} Fr sheath.")
                    continue
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"The {vm} was accessed using a modified Seldinger technique and "
                                f"a {sheath} French sheath was placed.",
                                f"Access was gained to the {vm} and a {sheath} Fr sheath placed.",
                            ]
                        )
                    )
                )
        return out

    def study_sentences(self) -> list[str]:
        sc = self.sc
        if not sc.study or not self.pool("study_findings"):
            return []
        out = [self.t(self.pool("study_findings"))]
        for key in sc.landmarks:
            self.tags.add("landmark")
            out.append(self.t(self.pool(key)))
        for key in sc.extras:
            if not key.startswith("item-"):
                out.append(self.t(self.pool(key)))
        return out

    def treatment_sentences(self) -> list[str]:
        mk, rng = self.mk, self.rng
        out = []
        for treat in self.sc.treatments:
            if treat.sentence:
                out.append(self.t([treat.sentence]))
                continue
            proc = mk.procedure(treat.kind, treat.words)
            device = fill(treat.device, self.ctx)
            if len(treat.vessels) > 1:
                ma, ia = mk.vessel([treat.vessels[0]])
                mb, ib = mk.vessel([treat.vessels[-1]])
                where = "from the " + mk.extent(f"{ma} into the {mb}", "treatment", ia, ib)
            else:
                where = "of the " + mk.vessel(treat.vessels)[0]
            if self.style.terse:
                out.append(f"Intervention: {proc} {where}, {device}.")
                continue
            out.append(
                cap(
                    rng.choice(
                        [
                            f"{proc} {where} was then performed with {device}.",
                            f"We proceeded with {proc} {where} using {device}.",
                            f"{proc} {where} was carried out with {device}.",
                        ]
                    )
                )
            )
        return out

    def trap_sentences(self, where: str) -> list[str]:
        """Sentences for non-counting IVUS mentions placed at ``where`` (history/body/plan)."""
        mk, rng = self.mk, self.rng
        out = []
        placement = {"historical": "history", "hypothetical": "plan"}
        for trap in self.sc.traps:
            if placement.get(trap.assertion, "body") != where:
                continue
            ivus, _ = mk.ivus(trap.assertion)
            vm = mk.vessel([trap.vessel])[0] if trap.vessel else ""
            if trap.assertion == "negated":
                self.tags.add("negated")
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"{ivus} was not performed as the anatomy was well defined on the "
                                "images.",
                                f"No {ivus} was performed.",
                                f"The procedure was completed without {ivus} due to equipment "
                                "availability.",
                            ]
                        )
                    )
                )
            elif trap.assertion == "hypothetical":
                self.tags.add("planned")
                target = f" of the {vm}" if vm else ""
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"Will consider {ivus}{target} at the next session.",
                                f"If symptoms persist, {ivus}{target} is recommended.",
                                f"Plan repeat {ivus}{target} in 6 months.",
                            ]
                        )
                    )
                )
            elif trap.assertion == "historical":
                self.tags.add("historical")
                target = f" of the {vm}" if vm else ""
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"Prior {ivus}{target} at an outside hospital in "
                                f"{rng.randint(2015, 2024)} "
                                "was reviewed.",
                                f"{ivus}{target} during the index procedure last year was "
                                "reviewed.",
                            ]
                        )
                    )
                )
            else:
                self.tags.add("failed")
                occl = mk.pathology("occlusion", "occlusion")
                target = f" of the {vm}" if vm else ""
                out.append(
                    cap(
                        rng.choice(
                            [
                                f"An attempt at {ivus} across the {occl}{target} was "
                                "unsuccessful; the "
                                "catheter would not cross and no images were obtained.",
                                f"The {ivus} catheter could not be advanced through the "
                                f"{occl}{target} and "
                                "no usable images were acquired.",
                            ]
                        )
                    )
                )
        return out

    # -- assembling ---------------------------------------------------------------------------
    def description(self) -> list[str]:
        sc, style = self.sc, self.style
        pre: list[str] = []
        if not style.terse:
            prone = any("popliteal" in v for v in sc.access)
            prep = [p for p in PREP if ("prone" in p) == prone]
            pre += [self.plain(CONSENT), self.plain(TIMEOUT), self.plain(prep)]
        pre += self.access_sentences()
        if style.verbose:
            pre += [self.plain([p]) for p in self.rng.sample(TECHNIQUE, 3)]
        if sc.study and not style.terse:
            pre.append(self.plain(HEPARIN))
        body = self.study_sentences()
        for run in sc.runs:
            if run.role in ("diagnostic", "coronary"):
                body += self.render_run(run)
        body += self.trap_sentences("body")
        post = self.treatment_sentences()
        for run in sc.runs:
            if run.role in ("post", "coronary-post"):
                post += self.render_run(run)
        if sc.study and self.pool("completion"):
            post.append(self.t(self.pool("completion")))
        if not style.terse:
            post.append(self.plain(CLOSURE))
        if style.verbose:
            post += [self.plain([p]) for p in self.rng.sample(AFTERCARE, 3)]
        sep = "\n" if style.terse else " "
        return [sep.join(p) for p in (pre, body, post) if p]

    def indication(self) -> str:
        parts = [self.t(self.pool("indication")), *(self.t([h]) for h in self.sc.history)]
        parts += self.trap_sentences("history")
        if self.style.verbose:
            parts += [self.plain([p]) for p in self.rng.sample(HISTORY, 3)]
        elif self.rng.random() < 0.25:
            parts.append(self.plain(HISTORY))
        return " ".join(parts)

    def render(self) -> str:
        style = self.style
        sections: list[tuple[str, str]] = []
        proc = self.procedure_section()
        if proc:
            sections.append(("", proc))
        sections.append(("indication", self.indication()))
        if not style.terse or self.rng.random() < 0.5:
            sections.append(("anesthesia", self.plain(SEDATION)))
        desc = self.description()
        sections.append(("description", "\n\n".join(desc)))
        for passage in self.passages:
            sections.append(("", passage))
        if style.verbose and self.sc.study and self.pool("study_findings"):
            sections.append(("findings", self.t(self.pool("study_findings"))))
        if style.verbose:
            impressions = self.rng.sample(
                list(self.pool("impression")), min(2, len(self.pool("impression")))
            )
            items = [self.t([i]) for i in impressions]
            impression = "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))
            impression += "\n" + self.plain(DISCUSSION)
        else:
            impression = self.t(self.pool("impression"))
        sections.append(("impression", impression))
        plan = [self.t(self.pool("plan")), *self.trap_sentences("plan")]
        sections.append(("plan", " ".join(plan)))
        if style.verbose:
            sections.append(("tail", " ".join(self.plain([p]) for p in self.rng.sample(TAIL, 2))))
        elif self.rng.random() < 0.5:
            sections.append(("tail", self.plain(TAIL)))
        out = []
        for key, body in sections:
            head = self.heading(key) if key else ""
            if not head:
                out.append(body)
            elif self.rng.random() < 0.5 and "\n" not in body:
                out.append(f"{head} {body}")
            else:
                out.append(f"{head}\n{body}")
        if style.headings == "caps":
            self.tags.add("all-caps")
        if style.headings == "none":
            self.tags.add("no-headings")
        text = "\n\n".join(out) + "\n"
        return re.sub(r"\b([Aa]) (\[\[)?(8\d?|11|18)(?=[%\s.x-])", r"\1n \2\3", text)


def title_case(words: str) -> str:
    small = {"and", "of", "or", "the", "/"}
    return " ".join(w if w in small else w[:1].upper() + w[1:] for w in words.split(" "))


def decap(markup: str) -> str:
    """Lower-case the first letter of a list item when it starts an ordinary word."""
    plain = re.sub(r"\[\[|\|[^\]]*\]\]", "", markup)
    first = plain.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        for i, ch in enumerate(markup):
            if ch.isalpha():
                return markup[:i] + ch.lower() + markup[i + 1 :]
    return markup


# =============================================================================================
# Scenario builders
# =============================================================================================
def path(start: str, end: str) -> list[str]:
    """The vessels from ``start`` to ``end`` along the flow path (ontology adjacency)."""
    ontology = load_ontology()
    (sa, ss), (ea, es) = split_side(start), split_side(end)
    nodes = ontology.path_between(sa, ss, ea, es)
    if not nodes:
        raise ValueError(f"no path from {start} to {end}")
    return [with_side(base, side) for base, side in nodes]


def pick_side(rng: random.Random, left_weight: float = 0.5) -> str:
    return "left" if rng.random() < left_weight else "right"


def diag_mode(rng: random.Random, contiguous: bool) -> str:
    modes = ["list", "list", "passage", "follow-on"] + (["extent", "extent"] if contiguous else [])
    return rng.choice(modes)


def make_run(
    rng: random.Random,
    vessels: list[str],
    lesioned: Sequence[str],
    mode: str | None = None,
    pct: int | None = None,
) -> Run:
    """A diagnostic run over ``vessels`` with lesion findings for ``lesioned`` and reference
    findings for the rest."""
    contiguous = len(vessels) > 1 and _is_path(vessels)
    mode = mode or diag_mode(rng, contiguous)
    findings = {
        v: lesion_findings(rng, v, pct) if v in lesioned else normal_findings(rng, v)
        for v in vessels
    }
    ends = (vessels[0], vessels[-1]) if mode == "extent" else None
    return Run("diagnostic", vessels, mode, findings, ends)


def _is_path(vessels: Sequence[str]) -> bool:
    try:
        return path(vessels[0], vessels[-1]) == list(vessels)
    except ValueError:
        return False


def post_run(rng: random.Random, vessels: Sequence[str]) -> Run:
    return Run("post", list(vessels), "post", {v: post_findings(rng, v) for v in vessels})


def lesion_run(rng: random.Random, lesion: Lesion) -> Run:
    first = lesion.vessels[0]
    findings = {first: lesion_findings(rng, first, min(lesion.severity, 92))}
    return Run(
        "diagnostic", lesion.vessels, "lesion", findings, (first, lesion.vessels[-1]), lesion
    )


def venous_stent(rng: random.Random, vessels: list[str]) -> Treatment:
    words = rng.choice(["stent placement", "stenting", "venous stenting", "stent reconstruction"])
    return Treatment("stent", vessels, words, rng.choice(DEVICES_STENT_VEIN))


def arterial_stent(rng: random.Random, vessels: list[str]) -> Treatment:
    words = rng.choice(["stent placement", "stenting", "primary stenting"])
    return Treatment("stent", vessels, words, rng.choice(DEVICES_STENT_ARTERY))


def build_may_thurner(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.85)
    civ, eiv, cfv = (
        f"vein.{b}.{side}" for b in ("common_iliac", "external_iliac", "common_femoral")
    )
    ivc = "vein.inferior_vena_cava"
    sc = Scenario("may-thurner", "iliac-vein", {"venous", "may-thurner", "iliac"}, side)
    sc.access = [rng.choice([cfv, f"vein.femoral.{side}", f"vein.popliteal.{side}"])]
    continuous = rng.random() < 0.35
    sev = rng.randint(55, 85)
    if continuous:
        lesion = Lesion(
            "compression", [civ, eiv], True, sev, rng.choice(["compression", "narrowing"])
        )
        if lesion.words == "narrowing":
            lesion.kind = "stenosis"
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
        if rng.random() < 0.6:
            sc.runs.append(make_run(rng, [ivc], [], rng.choice(["list", "follow-on"])))
        sc.treatments = [venous_stent(rng, [civ, eiv])]
    else:
        sc.lesions = [Lesion("compression", [civ], False, sev, "compression")]
        end = rng.choice([eiv, eiv, cfv])
        start = rng.choice([ivc, civ])
        sc.runs.append(make_run(rng, path(start, end), [civ], pct=sev))
        sc.treatments = [venous_stent(rng, [civ])]
    if rng.random() < 0.75:
        sc.runs.append(post_run(rng, [civ]))
    if rng.random() < 0.6:
        sc.landmarks.append("landmark")
    if rng.random() < 0.4:
        sc.extras.append("angio-only")
    return sc


def build_iliac_artery(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    cia, eia = f"artery.common_iliac.{side}", f"artery.external_iliac.{side}"
    sc = Scenario("iliac-artery", "iliac-artery", {"arterial", "iliac"}, side)
    sc.access = [
        rng.choice([f"artery.common_femoral.{side}", f"artery.common_femoral.{other_side(side)}"])
    ]
    sc.us_access = rng.random() < 0.7
    sev = rng.randint(60, 90)
    variant = rng.choice(["focal", "continuous", "two-vessels"])
    if variant == "continuous":
        lesion = Lesion(
            "stenosis", [cia, eia], True, sev, rng.choice(["stenosis", "stenosis", "plaque"])
        )
        if lesion.words == "plaque":
            lesion.kind = "plaque"
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
        sc.treatments = [arterial_stent(rng, [cia, eia])]
        sc.runs.append(post_run(rng, [cia]))
    else:
        sc.lesions = [Lesion("stenosis", [cia], False, sev, "stenosis")]
        vessels = [cia] if variant == "focal" else [cia, eia]
        sc.runs.append(make_run(rng, vessels, [cia], pct=sev))
        sc.treatments = [arterial_stent(rng, [cia])]
        if rng.random() < 0.7:
            sc.runs.append(post_run(rng, [cia]))
    if rng.random() < 0.5:
        sc.landmarks.append("landmark")
    if rng.random() < 0.5:
        sc.extras.append("angio-only")
    return sc


def build_filter_placement(rng: random.Random) -> Scenario:
    ivc = "vein.inferior_vena_cava"
    side = pick_side(rng)
    sc = Scenario("filter-placement", "filter", {"venous", "filter"}, side)
    sc.access = [rng.choice([f"vein.common_femoral.{side}", "vein.internal_jugular.right"])]
    sc.bundling = "ivc-filter-placement"
    sc.study = rng.random() < 0.6  # cavogram documented or bedside IVUS-only placement
    sc.runs.append(make_run(rng, [ivc], [], rng.choice(["list", "follow-on"])))
    sc.treatments = [
        Treatment(
            "ivc-filter-placement",
            [ivc],
            "filter placement",
            "",
            item="{V:vein.inferior_vena_cava} {PR:ivc-filter-placement:filter placement}",
            sentence=rng.choice(
                [
                    "{PR:ivc-filter-placement:Filter deployment}: a retrievable Denali filter "
                    "was deployed in the infrarenal {V:vein.inferior_vena_cava} with its apex "
                    "below the {V:vein.renal.left}.",
                    "An Option Elite filter was then {PR:ivc-filter-placement:placed} in the "
                    "{V:vein.inferior_vena_cava}, below the inflow of the {V:vein.renal.left}.",
                ]
            ),
        )
    ]
    sc.tags.add("landmark")
    return sc


def pta(rng: random.Random, vessels: list[str], venous: bool = True) -> Treatment:
    words = rng.choice(
        ["balloon venoplasty", "venoplasty", "balloon angioplasty"]
        if venous
        else ["balloon angioplasty", "angioplasty", "PTA"]
    )
    size = "{n:10-16} mm" if venous else "{n:4-7} mm"
    return Treatment("angioplasty", vessels, words, f"a {size} balloon")


def strip_ivus(sc: Scenario) -> Scenario:
    sc.runs = []
    return sc


def post_findings_pta(rng: random.Random, vid: str) -> list[Finding]:
    lo, hi, _, _ = _size(vid)
    area = rng.randint(int(lo * 0.7), hi)
    residual = rng.randint(10, 30)
    return [
        _area_finding(rng, area, "mla"),
        Finding("percent", f"{residual}% residual narrowing", f"{residual}% residual"),
    ][: rng.choice([1, 2])]


def pta_post_run(rng: random.Random, vessels: Sequence[str]) -> Run:
    return Run("post", list(vessels), "post", {v: post_findings_pta(rng, v) for v in vessels})


def build_bilateral_iliac(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.6)
    o = other_side(side)
    sc = Scenario("bilateral-iliac", "venous-bilateral", {"venous", "iliac"}, side, age=(25, 75))
    ivc = "vein.inferior_vena_cava"
    vessels = [ivc]
    for s in ("right", "left"):
        vessels += [f"vein.common_iliac.{s}", f"vein.external_iliac.{s}"]
    with_cfv = rng.random() < 0.3
    if with_cfv:
        vessels += ["vein.common_femoral.right", "vein.common_femoral.left"]
    civ = f"vein.common_iliac.{side}"
    sev = rng.randint(60, 85)
    sc.lesions = [Lesion("compression", [civ], False, sev, "compression")]
    run = make_run(rng, vessels, [civ], rng.choice(["list", "passage", "passage"]), pct=sev)
    run.findings[f"vein.common_iliac.{o}"] = lesion_findings(
        rng, f"vein.common_iliac.{o}", rng.randint(25, 45)
    )
    sc.runs.append(run)
    sc.access = [f"vein.common_femoral.{side}", f"vein.common_femoral.{o}"][: rng.choice([1, 2])]
    sc.treatments = [venous_stent(rng, [civ])]
    if rng.random() < 0.6:
        sc.runs.append(post_run(rng, [civ]))
    if not with_cfv and rng.random() < 0.35:
        sc.stated_count = rng.choice([3, 4, 6])
    return sc


def build_exceeds_mue(rng: random.Random) -> Scenario:
    if rng.random() < 0.6:
        side = pick_side(rng)
        sc = Scenario("exceeds-mue", "venous-bilateral", {"venous", "iliac"}, side, age=(25, 75))
        vessels = ["vein.inferior_vena_cava"]
        tail = ["common_iliac", "external_iliac", "common_femoral", "femoral"]
        if rng.random() < 0.5:
            tail.append("popliteal")
        for s in ("left", "right"):
            vessels += [f"vein.{b}.{s}" for b in tail]
        civ = f"vein.common_iliac.{side}"
        sc.lesions = [Lesion("compression", [civ], False, rng.randint(60, 85), "compression")]
        sc.treatments = [venous_stent(rng, [civ])]
        sc.access = [f"vein.popliteal.{side}"] if rng.random() < 0.3 else []
        lesioned = [civ]
    else:
        side = pick_side(rng)
        sc = Scenario("exceeds-mue", "central", {"venous", "central-venous"}, side)
        vessels = ["vein.superior_vena_cava"]
        for s in ("right", "left"):
            vessels += [
                f"vein.{b}.{s}" for b in ("brachiocephalic", "subclavian", "internal_jugular")
            ]
        bcv = f"vein.brachiocephalic.{side}"
        sc.lesions = [Lesion("stenosis", [bcv], False, rng.randint(60, 85), "stenosis")]
        sc.treatments = [pta(rng, [bcv]), venous_stent(rng, [bcv])]
        sc.access = ["vein.common_femoral.right"]
        lesioned = [bcv]
    sc.runs.append(make_run(rng, vessels, lesioned, rng.choice(["passage", "list"])))
    return sc


def build_dvt(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.75)
    sc = Scenario("dvt", "dvt", {"venous", "dvt", "iliac"}, side, age=(18, 80))
    start = rng.choice(["popliteal", "femoral", "common_femoral"])
    end = rng.choice(["common_iliac", "inferior_vena_cava"])
    a = f"vein.{start}.{side}"
    b = "vein.inferior_vena_cava" if end == "inferior_vena_cava" else f"vein.common_iliac.{side}"
    words = rng.choice(["thrombus", "occlusive thrombus", "acute thrombus", "DVT", "clot"])
    lesion = Lesion("thrombus", path(a, b), True, 100, words)
    sc.lesions = [lesion]
    run = lesion_run(rng, lesion)
    run.findings[a] = [
        Finding("morphology", "echolucent material filling the lumen", "echolucent fill", ""),
        *lesion_findings(rng, a, rng.randint(70, 95))[:1],
    ]
    sc.runs.append(run)
    sc.access = [
        f"vein.posterior_tibial.{side}" if start == "popliteal" else f"vein.popliteal.{side}"
    ]
    device = rng.choice(
        ["the ClotTriever system", "an AngioJet catheter", "a Lightning 12 catheter"]
    )
    words_t = rng.choice(
        ["mechanical thrombectomy", "pharmacomechanical thrombectomy", "thrombectomy"]
    )
    sc.treatments = [Treatment("thrombectomy", [a, b], words_t, device)]
    civ = f"vein.common_iliac.{side}"
    if rng.random() < 0.6:
        sc.treatments.append(venous_stent(rng, [civ]))
        sc.runs.append(post_run(rng, [civ]))
    return sc


def build_central(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("central", "central", {"venous", "central-venous"}, side)
    svc, bcv = "vein.superior_vena_cava", f"vein.brachiocephalic.{side}"
    sev = rng.randint(65, 95)
    if rng.random() < 0.35:
        lesion = Lesion("occlusion", [bcv, svc], True, 100, "occlusion")
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
        sc.treatments = [pta(rng, [bcv, svc]), venous_stent(rng, [bcv])]
    else:
        sc.lesions = [Lesion("stenosis", [bcv], False, sev, "stenosis")]
        vessels = [svc, bcv]
        if rng.random() < 0.5:
            vessels.append(rng.choice([f"vein.subclavian.{side}", f"vein.internal_jugular.{side}"]))
        sc.runs.append(make_run(rng, vessels, [bcv], pct=sev))
        sc.treatments = [pta(rng, [bcv]), venous_stent(rng, [bcv])]
    if rng.random() < 0.7:
        sc.runs.append(post_run(rng, [bcv]))
    sc.access = rng.choice(
        [
            ["vein.common_femoral.right"],
            [f"vein.basilic.{side}"],
            ["vein.internal_jugular.right", f"vein.brachial.{side}"],
        ]
    )
    if rng.random() < 0.5:
        sc.landmarks.append("landmark")
    return sc


def build_dialysis(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.7)
    sc = Scenario("dialysis", "dialysis", {"venous", "dialysis"}, side)
    ceph, axv, scv, bcv = (
        f"vein.{b}.{side}" for b in ("cephalic", "axillary", "subclavian", "brachiocephalic")
    )
    sc.access = [ceph]
    if rng.random() < 0.55:
        sc.lesions = [Lesion("stenosis", [ceph], False, rng.randint(60, 85), "stenosis")]
        vessels = [ceph, axv, scv] if rng.random() < 0.6 else [ceph]
        target = ceph
    else:
        sc.tags.add("central-venous")
        sc.lesions = [Lesion("stenosis", [bcv], False, rng.randint(60, 85), "stenosis")]
        vessels = [scv, bcv] if rng.random() < 0.5 else [axv, scv, bcv]
        target = bcv
    sc.runs.append(make_run(rng, vessels, [target], pct=sc.lesions[0].severity))
    sc.treatments = [pta(rng, [target])]
    if rng.random() < 0.6:
        sc.runs.append(pta_post_run(rng, [target]))
    if rng.random() < 0.5:
        sc.extras.append("pressure")
        sc.tags.add("pressure")
    return sc


def build_nutcracker(rng: random.Random) -> Scenario:
    sc = Scenario(
        "nutcracker", "renal-vein", {"venous", "nutcracker", "renal"}, "left", age=(18, 60)
    )
    lrv, ivc = "vein.renal.left", "vein.inferior_vena_cava"
    sev = rng.randint(60, 85)
    sc.lesions = [Lesion("compression", [lrv], False, sev, "compression")]
    sc.runs.append(make_run(rng, [lrv, ivc], [lrv], pct=sev))
    sc.access = [rng.choice(["vein.common_femoral.right", "vein.internal_jugular.right"])]
    sc.landmarks.append("landmark")
    if rng.random() < 0.6:
        sc.extras.append("pressure")
        sc.tags.add("pressure")
    if rng.random() < 0.4:
        sc.treatments = [venous_stent(rng, [lrv])]
        sc.treatments[0].device = "a {n:12-16} x {n:4-6}0 mm Wallstent"
        sc.runs.append(post_run(rng, [lrv]))
    return sc


def build_portal(rng: random.Random) -> Scenario:
    sc = Scenario("portal", "portal", {"venous", "portal"}, None, age=(35, 75))
    mpv, smv = "vein.portal", "vein.superior_mesenteric"
    if rng.random() < 0.4:
        lesion = Lesion("thrombus", [mpv, smv], True, 100, rng.choice(["thrombus", "thrombosis"]))
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
    else:
        sc.lesions = [Lesion("occlusion", [mpv], False, 100, "occlusion")]
        sc.runs.append(make_run(rng, [mpv, smv], [mpv], pct=rng.randint(70, 90)))
    sc.access = [rng.choice(["vein.splenic", "vein.internal_jugular.right"])]
    sc.treatments = [
        pta(rng, [mpv]),
        Treatment("stent", [mpv], "stent placement", "a 10 x {n:6-8}0 mm Viatorr stent graft"),
    ]
    if rng.random() < 0.5:
        sc.runs.append(post_run(rng, [mpv]))
    return sc


def atherectomy(rng: random.Random, vessels: list[str]) -> Treatment:
    words = rng.choice(["orbital atherectomy", "directional atherectomy", "atherectomy"])
    device = rng.choice(
        ["a HawkOne LS catheter", "a 2.1 mm Jetstream catheter", "a Diamondback 360 1.5 mm crown"]
    )
    return Treatment("atherectomy", vessels, words, device)


def dcb(rng: random.Random, vessels: list[str]) -> Treatment:
    words = rng.choice(["drug-coated balloon angioplasty", "DCB angioplasty", "angioplasty"])
    return Treatment("angioplasty", vessels, words, "a {n:5-6} x {n:10-15}0 mm IN.PACT balloon")


def build_fem_pop(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("fem-pop", "fem-pop", {"arterial", "femoropopliteal"}, side, age=(50, 88))
    sfa, pop = f"artery.superficial_femoral.{side}", f"artery.popliteal.{side}"
    variant = rng.choice(["sfa", "both", "both", "continuous"])
    sev = rng.randint(70, 95)
    if variant == "continuous":
        kind = rng.choice(["occlusion", "stenosis"])
        lesion = Lesion(kind, [sfa, pop], True, 100 if kind == "occlusion" else sev, kind)
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
        targets = [sfa, pop]
    else:
        sc.lesions = [Lesion("stenosis", [sfa], False, sev, rng.choice(["stenosis", "stenosis"]))]
        vessels = [sfa] if variant == "sfa" else [sfa, pop]
        sc.runs.append(make_run(rng, vessels, [sfa], pct=sev))
        targets = [sfa]
    sc.treatments = [atherectomy(rng, targets), dcb(rng, targets)]
    if rng.random() < 0.7:
        sc.runs.append(pta_post_run(rng, [sfa]))
    sc.access = [
        rng.choice([f"artery.common_femoral.{other_side(side)}", f"artery.common_femoral.{side}"])
    ]
    sc.us_access = rng.random() < 0.8
    if rng.random() < 0.5:
        sc.extras.append("angio-only")
    if rng.random() < 0.4:
        sc.landmarks.append("landmark")
    return sc


def build_tibial(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("tibial", "tibial", {"arterial", "tibial"}, side, age=(50, 88))
    tpt, pt, at, per = (
        f"artery.{b}.{side}"
        for b in ("tibioperoneal_trunk", "posterior_tibial", "anterior_tibial", "peroneal")
    )
    vessels = rng.choice([[tpt, pt], [at], [tpt, per], [at, tpt]])
    target = vessels[-1] if vessels[0] == tpt and len(vessels) > 1 else vessels[0]
    kind = rng.choice(["stenosis", "occlusion"])
    sev = 100 if kind == "occlusion" else rng.randint(75, 95)
    sc.lesions = [Lesion(kind, [target], False, sev, kind)]
    sc.runs.append(make_run(rng, vessels, [target], pct=min(sev, 90)))
    sc.treatments = [pta(rng, [target], venous=False)]
    sc.treatments[0].device = "a 2.{n:5-9} x 150 mm balloon"
    if rng.random() < 0.5:
        sc.runs.append(pta_post_run(rng, [target]))
    sc.access = [f"artery.common_femoral.{side}"]
    if rng.random() < 0.3:
        sc.access.append(f"artery.dorsalis_pedis.{side}")
    if rng.random() < 0.5:
        sc.extras.append("angio-only")
    return sc


def build_renal_artery(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("renal-artery", "renal-artery", {"arterial", "renal"}, side, age=(45, 85))
    ra = f"artery.renal.{side}"
    sev = rng.randint(65, 90)
    sc.lesions = [Lesion("stenosis", [ra], False, sev, "stenosis")]
    vessels = [ra]
    if rng.random() < 0.25:
        vessels.append(f"artery.renal.{other_side(side)}")
    sc.runs.append(make_run(rng, vessels, [ra], pct=sev))
    sc.treatments = [arterial_stent(rng, [ra])]
    sc.treatments[0].device = "a {n:5-7} x {n:15-18} mm balloon-expandable stent"
    if rng.random() < 0.6:
        sc.runs.append(post_run(rng, [ra]))
    sc.access = [rng.choice(["artery.common_femoral.right", "artery.radial.left"])]
    if rng.random() < 0.5:
        sc.landmarks.append("landmark")
    if rng.random() < 0.5:
        sc.extras.append("pressure")
        sc.tags.add("pressure")
    return sc


def build_mesenteric(rng: random.Random) -> Scenario:
    sc = Scenario("mesenteric", "mesenteric", {"arterial", "mesenteric"}, None, age=(50, 85))
    sma, celiac = "artery.superior_mesenteric", "artery.celiac"
    sev = rng.randint(70, 90)
    sc.lesions = [Lesion("stenosis", [sma], False, sev, "stenosis")]
    vessels = [sma]
    if rng.random() < 0.4:
        vessels.append(celiac)
        sc.lesions.append(Lesion("stenosis", [celiac], False, rng.randint(60, 80), "stenosis"))
    sc.runs.append(make_run(rng, vessels, vessels, pct=sev))
    sc.treatments = [arterial_stent(rng, [sma])]
    sc.treatments[0].device = "a {n:6-8} x {n:15-29} mm balloon-expandable covered stent"
    if rng.random() < 0.6:
        sc.runs.append(post_run(rng, [sma]))
    sc.access = [rng.choice(["artery.brachial.left", "artery.common_femoral.right"])]
    return sc


def build_carotid(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("carotid", "carotid", {"arterial", "carotid"}, side, age=(55, 88))
    cca, ica = f"artery.common_carotid.{side}", f"artery.internal_carotid.{side}"
    sev = rng.randint(70, 90)
    if rng.random() < 0.35:
        lesion = Lesion("plaque", [cca, ica], True, sev, "plaque")
        sc.lesions = [lesion]
        sc.runs.append(lesion_run(rng, lesion))
    else:
        sc.lesions = [Lesion("stenosis", [ica], False, sev, "stenosis")]
        vessels = [ica] if rng.random() < 0.4 else [cca, ica]
        sc.runs.append(make_run(rng, vessels, [ica], pct=sev))
    sc.treatments = [
        Treatment(
            "stent",
            [ica],
            rng.choice(["stenting", "stent placement"]),
            rng.choice(["a 7-10 x 40 mm tapered Xact stent", "an 8 x 30 mm Precise stent"]),
        )
    ]
    if rng.random() < 0.6:
        sc.runs.append(post_run(rng, [ica]))
    sc.access = [rng.choice(["artery.common_femoral.right", "artery.radial.right"])]
    if rng.random() < 0.5:
        sc.landmarks.append("landmark")
    return sc


def build_subclavian(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.75)
    sc = Scenario(
        "subclavian", "subclavian", {"arterial", "subclavian-vertebral"}, side, age=(45, 85)
    )
    sca = f"artery.subclavian.{side}"
    sev = rng.randint(70, 95)
    sc.lesions = [Lesion("stenosis", [sca], False, sev, "stenosis")]
    vessels = [sca] if rng.random() < 0.7 else [sca, f"artery.axillary.{side}"]
    sc.runs.append(make_run(rng, vessels, [sca], pct=sev))
    sc.treatments = [arterial_stent(rng, [sca])]
    if rng.random() < 0.6:
        sc.runs.append(post_run(rng, [sca]))
    sc.access = [f"artery.brachial.{side}", "artery.common_femoral.right"][: rng.choice([1, 2])]
    if rng.random() < 0.6:
        sc.landmarks.append("landmark")
    return sc


def aorta_findings(rng: random.Random) -> list[Finding]:
    d, length = rng.randint(19, 27), rng.randint(15, 30)
    return [
        Finding("diameter", f"neck diameter of {d} mm", f"neck {d} mm", "a "),
        Finding("length", f"neck length of {length} mm", f"neck length {length} mm", "a "),
    ][: rng.choice([1, 2])]


def endograft(rng: random.Random, vessels: list[str], tevar: bool) -> Treatment:
    if tevar:
        words = rng.choice(["TEVAR", "thoracic endovascular aortic repair"])
        device = rng.choice(["a {n:26-34} x 150 mm Gore TAG device", "a Valiant Navion graft"])
    else:
        words = rng.choice(["EVAR", "endovascular aneurysm repair", "endograft placement"])
        device = rng.choice(["a Gore Excluder endograft", "an Endurant II endograft"])
    return Treatment("endograft", vessels, words, device)


def build_evar(rng: random.Random) -> Scenario:
    sc = Scenario("evar", "evar", {"arterial", "aortic"}, pick_side(rng), age=(60, 88))
    aorta = "artery.aorta"
    vessels = [aorta, "artery.common_iliac.right", "artery.common_iliac.left"]
    if rng.random() < 0.6:
        vessels += ["artery.external_iliac.right", "artery.external_iliac.left"]
    run = make_run(rng, vessels, [], rng.choice(["list", "passage", "follow-on"]))
    run.findings[aorta] = aorta_findings(rng)
    sc.runs.append(run)
    sc.treatments = [endograft(rng, [aorta], tevar=False)]
    sc.access = ["artery.common_femoral.right", "artery.common_femoral.left"]
    if rng.random() < 0.4:
        sc.runs.append(post_run(rng, [aorta]))
    return sc


def build_tevar(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("tevar", "tevar", {"arterial", "aortic"}, side, age=(40, 80))
    aorta, cia = "artery.aorta", f"artery.common_iliac.{side}"
    lesion = Lesion("dissection", [aorta, cia], True, 0, "dissection")
    sc.lesions = [lesion]
    run = lesion_run(rng, lesion)
    tl = rng.randint(60, 140)
    run.findings[aorta] = [
        Finding("area", f"true lumen area of {tl} mm2", f"TL area {tl} mm2", "a "),
        Finding("morphology", "a compressed true lumen", "compressed TL"),
    ][: rng.choice([1, 2])]
    sc.runs.append(run)
    sc.treatments = [endograft(rng, [aorta], tevar=True)]
    sc.access = ["artery.common_femoral.right", "artery.common_femoral.left"][: rng.choice([1, 2])]
    if rng.random() < 0.5:
        sc.runs.append(post_run(rng, [aorta]))
    return sc


def build_pulmonary(rng: random.Random) -> Scenario:
    sc = Scenario("pulmonary", "pulmonary", {"arterial", "pulmonary"}, "right", age=(35, 80))
    vessels = ["artery.pulmonary.right"]
    if rng.random() < 0.5:
        vessels.append("artery.pulmonary.left")
    sc.lesions = [Lesion("web", vessels[:1], False, 70, "web")]
    sc.runs.append(make_run(rng, vessels, vessels[:1], rng.choice(["list", "follow-on"])))
    sc.treatments = [pta(rng, vessels[:1], venous=False)]
    sc.treatments[0].words = "balloon pulmonary angioplasty"
    sc.access = [rng.choice(["vein.common_femoral.right", "vein.internal_jugular.right"])]
    if rng.random() < 0.7:
        sc.extras.append("pressure")
        sc.tags.add("pressure")
    return sc


def coronary_run(rng: random.Random, vid: str, role: str = "coronary") -> Run:
    if role == "coronary-post":
        return Run(role, [vid], "post", {vid: post_findings(rng, vid)})
    run = make_run(rng, [vid], [vid], rng.choice(["list", "follow-on"]))
    run.role = role
    return run


def build_coronary(rng: random.Random, mixed: bool = False) -> Scenario:
    side = pick_side(rng)
    sc = Scenario("coronary", "coronary", set(), side, age=(45, 88))
    vid = rng.choice(["coronary.lad", "coronary.lad", "coronary.rca", "coronary.lcx"])
    sev = rng.randint(70, 90)
    sc.lesions = [Lesion("stenosis", [vid], False, sev, "stenosis")]
    sc.runs.append(coronary_run(rng, vid))
    sc.treatments = [
        Treatment(
            "stent",
            [vid],
            rng.choice(["drug-eluting stent placement", "PCI with stenting"]),
            "a 3.{n:0-5} x {n:18-38} mm Xience stent",
        )
    ]
    if rng.random() < 0.6:
        sc.runs.append(coronary_run(rng, vid, "coronary-post"))
    sc.access = [rng.choice(["artery.radial.right", f"artery.common_femoral.{side}"])]
    sc.us_access = rng.random() < 0.6
    if rng.random() < 0.4:
        sc.extras.append("ffr")
        sc.tags.add("pressure")
    if mixed:
        sc.kind = "mixed"
        sc.tags |= {"arterial", "iliac"}
        sc.access = [f"artery.common_femoral.{side}"]
        eia, cia = f"artery.external_iliac.{side}", f"artery.common_iliac.{side}"
        sev2 = rng.randint(70, 85)
        sc.lesions.append(Lesion("stenosis", [eia], False, sev2, "stenosis"))
        sc.pools["peripheral"] = (
            "Because of resistance advancing the guide catheter, {PR:angiography:angiography} "
            "through the sheath was performed and showed a " + str(sev2) + "% "
            "{P:stenosis:stenosis} of the {V:artery.external_iliac.S}.",
        )
        sc.extras.append("peripheral")
        vessels = [eia] if rng.random() < 0.5 else [cia, eia]
        sc.runs.append(make_run(rng, vessels, [eia], rng.choice(["list", "follow-on"]), sev2))
        sc.treatments.append(arterial_stent(rng, [eia]))
    return sc


def build_mixed(rng: random.Random) -> Scenario:
    return build_coronary(rng, mixed=True)


def build_filter_retrieval(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.7)
    sc = Scenario("filter-retrieval", "filter-retrieval", {"venous", "filter"}, side)
    ivc = "vein.inferior_vena_cava"
    run = make_run(rng, [ivc], [], rng.choice(["list", "follow-on"]))
    tilt = rng.randint(5, 20)
    run.findings[ivc] = [
        Finding("other", f"filter tilt of {tilt} degrees", f"tilt {tilt} deg", "a "),
        Finding("morphology", "strut penetration beyond the caval wall", "strut penetration"),
    ][: rng.choice([1, 2])]
    sc.runs.append(run)
    sc.bundling = "ivc-filter-retrieval"
    sc.access = ["vein.internal_jugular.right"]
    sc.treatments = [
        Treatment(
            "ivc-filter-retrieval",
            [ivc],
            "filter retrieval",
            "",
            item="{V:vein.inferior_vena_cava} {PR:ivc-filter-retrieval:filter retrieval}",
            sentence=rng.choice(
                [
                    "The filter was then {PR:ivc-filter-retrieval:retrieved} with a snare and "
                    "recapture sheath.",
                    "{PR:ivc-filter-retrieval:Filter retrieval} was performed using endobronchial "
                    "forceps to free the embedded hook.",
                ]
            ),
        )
    ]
    if rng.random() < 0.45:
        sc.bundle_other = True
        civ, eiv = f"vein.common_iliac.{side}", f"vein.external_iliac.{side}"
        sc.runs.append(make_run(rng, [civ, eiv], [civ], rng.choice(["list", "follow-on"])))
        sc.comment = "IVUS of the iliac veins was unrelated to the filter retrieval."
    return sc


def build_foreign_body(rng: random.Random) -> Scenario:
    sc = Scenario("foreign-body", "foreign-body", {"venous", "foreign-body"}, "right")
    target = rng.choice(
        ["vein.inferior_vena_cava", "vein.superior_vena_cava", "vein.common_iliac.right"]
    )
    sc.runs.append(make_run(rng, [target], [], rng.choice(["list", "follow-on"])))
    sc.bundling = "foreign-body-retrieval"
    sc.access = ["vein.common_femoral.right"]
    sc.treatments = [
        Treatment(
            "foreign-body-retrieval",
            [target],
            "foreign body retrieval",
            "",
            item="{PR:foreign-body-retrieval:Intravascular foreign body retrieval}",
            sentence=rng.choice(
                [
                    "The fragment was captured with a 20 mm gooseneck snare and "
                    "{PR:foreign-body-retrieval:removed} through the sheath.",
                    "{PR:foreign-body-retrieval:Foreign body retrieval} was performed with an "
                    "EN Snare; the fragment was withdrawn intact.",
                ]
            ),
        )
    ]
    return sc


def build_ice(rng: random.Random) -> Scenario:
    sc = Scenario("ice", "ice", {"ice"}, "right", age=(25, 70))
    sc.access = ["vein.common_femoral.right"]
    sc.extras = ["item-closure", "ice", "closure", "ice-result"]
    if rng.random() < 0.5:
        sc.extras.insert(1, "item-ice")
    return sc


TRAP_BASES = ("may-thurner", "iliac-artery", "fem-pop", "renal-artery", "central", "dvt")


def _base(rng: random.Random, kind: str, choices: Sequence[str] = TRAP_BASES) -> Scenario:
    sc = BUILDERS[rng.choice(list(choices))](rng)
    sc.kind = kind
    return sc


def build_negated(rng: random.Random) -> Scenario:
    sc = strip_ivus(_base(rng, "negated"))
    sc.traps.append(Trap("negated"))
    return sc


def build_planned(rng: random.Random) -> Scenario:
    sc = _base(rng, "planned")
    if rng.random() < 0.5:
        strip_ivus(sc)
    sc.traps.append(Trap("hypothetical", sc.lesions[0].vessels[0] if sc.lesions else None))
    return sc


def build_historical(rng: random.Random) -> Scenario:
    sc = _base(rng, "historical", ("may-thurner", "dvt", "iliac-artery", "fem-pop"))
    vessel = sc.lesions[0].vessels[0] if sc.lesions else None
    sc.traps.append(Trap("historical", vessel))
    if sc.area in ("iliac-vein", "dvt") and rng.random() < 0.5:
        sc.history.append(
            "The patient has a {V:vein.inferior_vena_cava} filter from a "
            "{PRH:ivc-filter-placement:placement} in 2019."
        )
        sc.tags.add("filter")
    return sc


def build_failed(rng: random.Random) -> Scenario:
    sc = BUILDERS["fem-pop"](rng)
    sc.kind = "failed"
    side = sc.side
    sfa = f"artery.superficial_femoral.{side}"
    sc.runs = []
    lesion = sc.lesions[0]
    lesion.kind = lesion.words = "occlusion"
    lesion.severity = 100
    if rng.random() < 0.5:
        pop = f"artery.popliteal.{side}"
        sc.runs.append(make_run(rng, [pop], [], "list"))
    sc.traps.append(Trap("attempted-no-images", sfa))
    return sc


def build_oct(rng: random.Random) -> Scenario:
    sc = BUILDERS["fem-pop"](rng)
    sc.kind = "oct"
    sc.oct = True
    sc.tags.add("oct")
    sc.pools["oct"] = (
        "{PR:atherectomy:Directional atherectomy} was guided by the onboard "
        "{M:oct:optical coherence tomography} imaging of the Pantheris catheter.",
        "{M:oct:OCT} of the {V:artery.superficial_femoral.S} showed layered calcium and "
        "intact adventitia.",
    )
    sc.extras.append("oct")
    if rng.random() < 0.4:
        strip_ivus(sc)
    return sc


def build_generic(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.7)
    if rng.random() < 0.6:
        sc = Scenario("generic", "iliac-vein", {"venous", "iliac"}, side, age=(25, 75))
        vid = f"vein.iliac.{side}"
        sc.lesions = [Lesion("compression", [vid], False, rng.randint(60, 85), "compression")]
        sc.treatments = [venous_stent(rng, [vid])]
        sc.access = [f"vein.common_femoral.{side}"]
    else:
        sc = Scenario("generic", "fem-pop", {"arterial", "femoropopliteal"}, side, age=(50, 88))
        vid = f"artery.femoral.{side}"
        sc.lesions = [Lesion("stenosis", [vid], False, rng.randint(70, 90), "stenosis")]
        sc.treatments = [dcb(rng, [vid])]
        sc.access = [f"artery.common_femoral.{other_side(side)}"]
    sc.runs.append(
        make_run(
            rng, [vid], [vid], rng.choice(["list", "follow-on", "passage"]), sc.lesions[0].severity
        )
    )
    if rng.random() < 0.5:
        sc.runs.append(post_run(rng, [vid]))
    return sc


def build_no_side(rng: random.Random) -> Scenario:
    if rng.random() < 0.6:
        sc = Scenario("no-side", "iliac-vein", {"venous", "iliac"}, None, age=(25, 75))
        vid = "vein.common_iliac"
        sc.lesions = [Lesion("compression", [vid], False, rng.randint(60, 85), "compression")]
        sc.treatments = [venous_stent(rng, [vid])]
        sc.pools = dict(NO_SIDE_VEIN)
        sc.pools["completion"] = VEN_COMPLETION
    else:
        sc = Scenario("no-side", "fem-pop", {"arterial", "femoropopliteal"}, None, age=(50, 88))
        vid = "artery.superficial_femoral"
        sc.lesions = [Lesion("stenosis", [vid], False, rng.randint(70, 90), "stenosis")]
        sc.treatments = [pta(rng, [vid], venous=False)]
        sc.pools = dict(NO_SIDE_ARTERY)
    sc.runs.append(
        make_run(rng, [vid], [vid], rng.choice(["list", "follow-on"]), sc.lesions[0].severity)
    )
    return sc


def build_no_vessel(rng: random.Random) -> Scenario:
    sc = BUILDERS["fem-pop"](rng)
    sc.kind = "no-vessel"
    sc.runs = [Run("diagnostic", [], "none")]
    return sc


def build_no_primary(rng: random.Random) -> Scenario:
    side = pick_side(rng, 0.8)
    sc = Scenario("no-primary", "iliac-vein", {"venous", "iliac"}, side, age=(25, 75))
    civ, eiv = f"vein.common_iliac.{side}", f"vein.external_iliac.{side}"
    sc.study = False
    sc.access = [f"vein.common_femoral.{side}"]
    vessels = [civ] if rng.random() < 0.5 else [civ, eiv]
    run = make_run(rng, vessels, [], rng.choice(["list", "follow-on", "passage"]))
    run.findings[civ] = post_findings(rng, civ)
    sc.runs.append(run)
    sc.pools = {
        "indication": (
            "{age}-year-old {sex} {n:6-18} months after {PRH:stent:stenting} of the "
            "{V:vein.common_iliac.S}, with recurrent {side} leg swelling; "
            "{MH:duplex:duplex} was inconclusive.",
            "Surveillance of the {V:vein.iliac.S} stent in a {age} y/o {sex} with new "
            "{side} leg heaviness.",
        ),
        "impression": (
            "Patent stent in the {V:vein.common_iliac.S} without in-stent "
            "{P:stenosis:stenosis}; no intervention required.",
            "No hemodynamically significant {P:in-stent-restenosis:in-stent restenosis}.",
        ),
        "plan": ("Continue antiplatelet therapy; clinic in 3 months.",),
    }
    return sc


def build_separate(rng: random.Random) -> Scenario:
    side = pick_side(rng)
    sc = Scenario(
        "separate-lesions",
        "iliac-artery",
        {"arterial", "iliac", "femoropopliteal"},
        side,
        age=(50, 88),
    )
    cia = f"artery.common_iliac.{side}"
    sfa = f"artery.superficial_femoral.{rng.choice([side, side, other_side(side)])}"
    sc.lesions = [
        Lesion("stenosis", [cia], False, rng.randint(65, 90), "stenosis"),
        Lesion("stenosis", [sfa], False, rng.randint(65, 90), "stenosis"),
    ]
    if rng.random() < 0.5:
        sc.runs.append(make_run(rng, [cia, sfa], [cia, sfa], rng.choice(["list", "passage"])))
    else:
        sc.runs.append(make_run(rng, [cia], [cia], rng.choice(["list", "follow-on"])))
        sc.runs.append(make_run(rng, [sfa], [sfa], rng.choice(["list", "follow-on"])))
    sc.treatments = [arterial_stent(rng, [cia]), dcb(rng, [sfa])]
    sc.access = [f"artery.common_femoral.{other_side(side)}"]
    sc.pools["impression"] = (
        "Two separate lesions: {P:stenosis:stenosis} of the {V:artery.common_iliac.S} treated "
        "with a stent, and a {P:stenosis:stenosis} of the " + "{V:" + sfa + "} treated with "
        "drug-coated balloon {PR:angioplasty:angioplasty}.",
    )
    return sc


def build_no_finding(rng: random.Random) -> Scenario:
    """IVUS names its vessels but reports no measurement or result for at least one unit."""
    sc = _base(
        rng,
        "no-finding",
        ("may-thurner", "iliac-artery", "renal-artery", "central", "bilateral-iliac"),
    )
    sc.runs = [r for r in sc.runs if r.role == "diagnostic" and r.mode != "lesion"] or [
        make_run(rng, list(sc.lesions[0].vessels), [])
    ]
    everything = rng.random() < 0.5
    for run in sc.runs:
        if run.mode == "follow-on":
            run.mode = "list"
        if everything:
            run.findings = {}
        else:
            bare = next(
                (v for v in run.vessels if "inferior_vena_cava" in v or "superior_vena_cava" in v),
                run.vessels[0],
            )
            run.findings.pop(bare, None)
    return sc


def build_no_ivus(rng: random.Random) -> Scenario:
    sc = strip_ivus(_base(rng, "no-ivus"))
    return sc


BUILDERS: dict[str, Callable[[random.Random], Scenario]] = {
    "may-thurner": build_may_thurner,
    "bilateral-iliac": build_bilateral_iliac,
    "exceeds-mue": build_exceeds_mue,
    "dvt": build_dvt,
    "central": build_central,
    "dialysis": build_dialysis,
    "nutcracker": build_nutcracker,
    "portal": build_portal,
    "iliac-artery": build_iliac_artery,
    "separate-lesions": build_separate,
    "fem-pop": build_fem_pop,
    "tibial": build_tibial,
    "renal-artery": build_renal_artery,
    "mesenteric": build_mesenteric,
    "carotid": build_carotid,
    "subclavian": build_subclavian,
    "evar": build_evar,
    "tevar": build_tevar,
    "pulmonary": build_pulmonary,
    "coronary": build_coronary,
    "mixed": build_mixed,
    "filter-placement": build_filter_placement,
    "filter-retrieval": build_filter_retrieval,
    "foreign-body": build_foreign_body,
    "ice": build_ice,
    "no-ivus": build_no_ivus,
    "negated": build_negated,
    "planned": build_planned,
    "historical": build_historical,
    "failed": build_failed,
    "oct": build_oct,
    "generic": build_generic,
    "no-side": build_no_side,
    "no-vessel": build_no_vessel,
    "no-primary": build_no_primary,
    "no-finding": build_no_finding,
}


# =============================================================================================
# Gold: derived from the scenario
# =============================================================================================
def policy_units(sc: Scenario, policy: str) -> list[list[str]]:
    """Billing units under ``policy``: clusters of policy groups joined by continuous lesions,
    each given as the counted vessel ids it holds."""
    ontology, chosen = load_ontology(), load_policies().get(policy)

    def group(vid: str) -> str:
        base, side = ontology.split_side(vid)
        return chosen.group_of(base, side)

    vessels = sc.counted()
    clusters = cluster_groups(
        sorted({group(v) for v in vessels}), [[group(v) for v in m] for m in sc.merges()]
    )
    return [[v for v in vessels if group(v) in cluster] for cluster in clusters]


def merge_policy_size(merge: Sequence[str], policy: str) -> int:
    ontology, chosen = load_ontology(), load_policies().get(policy)
    return len({chosen.group_of(*ontology.split_side(v)) for v in merge})


def flags_under(sc: Scenario, policy: str) -> set[str]:
    """The review flags a careful coder raises under ``policy`` (RULEBOOK 4-6, GUIDE 5)."""
    ontology = load_ontology()
    flags: set[str] = set()
    counted = sc.counted()
    codes = expected_codes(counted, sc.merges(), None, policy)
    units = policy_units(sc, policy)
    affirmed = [r for r in sc.runs if not r.role.startswith("coronary")]
    if sc.bundling:
        if sc.bundle_other:
            flags.add("bundled-ivus-other-vessels")
    else:
        if any(not any(sc.has_finding(v) for v in unit) for unit in units):
            flags.add("no-ivus-finding")
        if codes["37253"] > MUE_37253:
            flags.add("exceeds-mue")
        if any(merge_policy_size(m, policy) > 2 for m in sc.merges()):
            flags.add("long-merge")
        if sc.stated_count is not None and sc.stated_count != len(units):
            flags.add("count-mismatch")
        if counted and not sc.study and not sc.treatments:
            flags.add("no-primary-procedure")
    for vid in counted:
        base, side = ontology.split_side(vid)
        if base in ontology.generics:
            flags.add("vessel-unspecific")
        elif side is None and ontology.is_paired(base):
            flags.add("laterality-missing")
    if affirmed and not counted and not any(r.role.startswith("coronary") for r in sc.runs):
        flags.add("ivus-without-vessel")
    if sc.oct:
        flags.add("oct-not-ivus")
    return flags


@dataclass
class Gold:
    vessels: list[str]
    merges: list[list[str]]
    suppressed: str | None
    codes: dict[str, dict[str, int]]
    flags: list[str]
    comment: str


def derive_gold(sc: Scenario) -> Gold:
    vessels = sc.counted()
    merges = sc.merges()
    codes = {p: expected_codes(vessels, merges, sc.bundling, p) for p in POLICIES}
    flags = flags_under(sc, "sir")
    comment = sc.comment
    other = flags_under(sc, "named-vessel")
    if other != flags:
        diff = ", ".join(sorted(other ^ flags))
        comment = (comment + " " if comment else "") + (
            f"Flags follow the default policy sir; under named-vessel these differ: {diff}."
        )
    return Gold(vessels, merges, sc.bundling, codes, sorted(flags), comment)


MODALITY_TAGS = {
    "ice": "ice",
    "oct": "oct",
    "duplex": "duplex",
    "us-guided-access": "us-access",
    "pressure": "pressure",
    "ffr": "pressure",
}


def derive_tags(
    sc: Scenario, gold: Gold, writer: Writer, words: int, spans: Sequence[dict]
) -> list[str]:
    ontology = load_ontology()
    tags = set(sc.tags) | writer.tags | {"generated"}
    for span in spans:
        if span["label"] == "NON_IVUS_MODALITY" and span["attrs"]["kind"] in MODALITY_TAGS:
            tags.add(MODALITY_TAGS[span["attrs"]["kind"]])
    style = writer.style
    if gold.codes["sir"] != gold.codes["named-vessel"]:
        tags.add("policy-differs")
    bases: dict[str, set[str | None]] = {}
    for vid in gold.vessels:
        base, side = ontology.split_side(vid)
        bases.setdefault(base, set()).add(side)
        if base in ontology.generics:
            tags.add("generic-vessel")
        elif side is None and ontology.is_paired(base):
            tags.add("laterality-missing")
    if any({"left", "right"} <= sides for sides in bases.values()):
        tags.add("bilateral")
    if "no-ivus-finding" in gold.flags:
        tags.add("no-finding")
    if "exceeds-mue" in gold.flags:
        tags.add("exceeds-mue")
    if "no-primary-procedure" in gold.flags:
        tags.add("no-primary")
    if not sc.runs:
        tags.add("no-ivus")
    if any(r.role.startswith("coronary") for r in sc.runs):
        tags.add("mixed-coronary-peripheral" if gold.vessels else "coronary")
    lesioned = [lesion for lesion in sc.lesions if set(lesion.vessels) & set(gold.vessels)]
    if len(lesioned) > 1 and not any(lesion.continuous for lesion in lesioned):
        tags.add("separate-lesions")
    if style.terse:
        tags.add("terse-template")
    if words >= 400:
        tags.add("long-narrative")
    if style.abbrev:
        tags.add("abbreviations")
    if writer.mk.used_device:
        tags.add("device-names")
    unknown = tags - GUIDE_TAGS
    if unknown:
        raise ValueError(f"tags not in the guide: {sorted(unknown)}")
    return sorted(tags)


def header(note_id: str, tags: Sequence[str], gold: Gold) -> str:
    def codes(policy: str) -> str:
        c = gold.codes[policy]
        return f"37252={c['37252']} 37253={c['37253']}"

    merges = "; ".join(" + ".join(m) for m in gold.merges) or "none"
    lines = [
        f"# id: {note_id}",
        f"# tags: {', '.join(tags)}",
        f"# vessels: {', '.join(gold.vessels) or 'none'}",
        f"# merges: {merges}",
        f"# suppressed: {gold.suppressed or 'none'}",
        f"# expected sir: {codes('sir')}",
        f"# expected named-vessel: {codes('named-vessel')}",
        f"# flags: {', '.join(gold.flags) or 'none'}",
    ]
    if gold.comment:
        lines.append(f"# note: {gold.comment}")
    return "\n".join(lines) + "\n"


# =============================================================================================
# Lint: words the guide says are always annotated must sit inside a span
# =============================================================================================
MUST_MARK_WORDS = (
    # vessels
    "iliac",
    "femoral",
    "popliteal",
    "tibial",
    "peroneal",
    "renal(?! disease| failure| function)",
    "jugular",
    "subclavian",
    "carotid",
    "vertebral",
    "vena cava",
    "cava",
    "IVC",
    "SVC",
    "aorta",
    "aortic",
    "CIV",
    "EIV",
    "CFV",
    "CFA",
    "SFA",
    "CIA",
    "EIA",
    "SMA",
    "LAD",
    "RCA",
    "portal",
    "mesenteric(?! ischemia)",
    "brachiocephalic",
    "iliofemoral",
    "femoropopliteal",
    "aortoiliac",
    "innominate",
    "axillary",
    "cephalic",
    "basilic",
    "(?<!ankle-)brachial",
    "radial",
    "gonadal",
    # modalities and studies
    "IVUS",
    "ultrasound",
    r"echo\w*",
    "OCT",
    "duplex",
    "venogram",
    "venography",
    "angiogram",
    "angiography",
    "arteriogram",
    "aortogram",
    "cavogram",
    "venacavogram",
    # pathology and treatment
    "stenosis",
    "thrombus",
    "DVT",
    "occlusion",
    "dissection",
    "plaque",
    "aneurysm",
    "compression(?! therapy| stockings| for)",
    "angioplasty",
    "venoplasty",
    "PTA",
    "atherectomy",
    "thrombectomy",
    "thrombolysis",
    "EVAR",
    "TEVAR",
)
MUST_MARK = re.compile(r"\b(" + "|".join(MUST_MARK_WORDS) + r")\b", re.IGNORECASE)


def lint(text: str, spans: Sequence[dict]) -> list[str]:
    covered = [(s["start"], s["end"]) for s in spans]
    problems = []
    for match in MUST_MARK.finditer(text):
        if not any(a <= match.start() and match.end() <= b for a, b in covered):
            before = text[max(0, match.start() - 30) : match.end() + 20].replace("\n", " ")
            problems.append(f"unmarked {match.group(0)!r} in {before!r}")
    return problems


# =============================================================================================
# Driver
# =============================================================================================
def plan_kinds(count: int, rng: random.Random) -> list[str]:
    """Every kind at least once, the rest drawn by weight, in a shuffled order."""
    kinds = list(BUILDERS)
    out = (kinds * 2)[: min(count, 2 * len(kinds))]
    weights = [KIND_WEIGHTS.get(k, 1.0) for k in kinds]
    out += rng.choices(kinds, weights, k=max(0, count - len(out)))
    rng.shuffle(out)
    return out


KIND_WEIGHTS: dict[str, float] = {
    "may-thurner": 4,
    "bilateral-iliac": 2,
    "dvt": 3,
    "central": 2,
    "dialysis": 2,
    "iliac-artery": 3,
    "fem-pop": 4,
    "tibial": 1.5,
    "renal-artery": 1.5,
    "evar": 1.5,
    "coronary": 1.5,
    "mixed": 1.5,
    "filter-placement": 1.5,
    "filter-retrieval": 1.5,
    "negated": 1.5,
    "planned": 1.5,
    "historical": 1.5,
}


@dataclass
class Generated:
    note_id: str
    kind: str
    source: str
    tags: list[str]
    words: int


def generate_one(note_id: str, kind: str, seed: int, index: int) -> Generated:
    problems: list[str] = []
    for attempt in range(40):
        rng = random.Random(f"{seed}:{index}:{attempt}")
        sc = BUILDERS[kind](rng)
        style = choose_style(rng)
        writer = Writer(sc, style, rng)
        body = writer.render()
        gold = derive_gold(sc)
        draft = header(note_id, [], gold) + "\n" + body
        doc = compile_note(draft, split="train", origin="generated")
        words = len(doc["text"].split())
        problems = lint(doc["text"], doc["spans"])
        if problems:
            raise ValueError(f"{note_id} ({kind}): " + "; ".join(problems))
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems = [f"{words} words"]
            continue
        tags = derive_tags(sc, gold, writer, words, doc["spans"])
        return Generated(note_id, kind, header(note_id, tags, gold) + "\n" + body, tags, words)
    raise ValueError(f"{note_id} ({kind}): no acceptable note in 40 attempts: {problems}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(ROOT / "corpus" / "src" / "generated"))
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--only", help="generate only this scenario kind (debugging)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("g-*.note"):
        old.unlink()
    kinds = plan_kinds(args.count, random.Random(args.seed))
    if args.only:
        kinds = [args.only] * args.count
    notes = []
    for index, kind in enumerate(kinds, 1):
        note = generate_one(f"g-{index:04d}", kind, args.seed, index)
        (out / f"{note.note_id}.note").write_text(note.source, encoding="utf-8")
        notes.append(note)
    files = sorted(out.glob("g-*.note"))
    problems = check_sources(files)
    summarize(notes)
    print(f"checker: {len(files)} file(s), {problems} problem(s)")
    return 1 if problems else 0


def summarize(notes: Sequence[Generated]) -> None:
    by_kind: dict[str, int] = {}
    by_tag: dict[str, int] = {}
    for note in notes:
        by_kind[note.kind] = by_kind.get(note.kind, 0) + 1
        for tag in note.tags:
            by_tag[tag] = by_tag.get(tag, 0) + 1
    words = sorted(n.words for n in notes)
    print("kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(by_kind.items())))
    print("tags: " + ", ".join(f"{k}={v}" for k, v in sorted(by_tag.items())))
    if words:
        print(f"words: min={words[0]} median={words[len(words) // 2]} max={words[-1]}")


if __name__ == "__main__":
    sys.exit(main())
