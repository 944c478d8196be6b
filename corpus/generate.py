"""Generate annotated IVUS procedure notes for the gold corpus (breadth, labelled ``generated``).

(docstring completed below)
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
    long-narrative all-caps no-headings dictation-slips abbreviations device-names generated""".split()
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
        verbose=not terse and rng.random() < 0.3,
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
            [f"MLA of {number}", f"minimal luminal area of {number}", f"minimum lumen area of {number}"]
        )
        article = "a " if prose.startswith("minim") else "an "
        return Finding("area", prose, f"MLA {number}", article)
    if label == "msa":
        prose = rng.choice([f"minimal stent area of {value} {unit}", f"stent area of {value} {unit}"])
        return Finding("area", prose, f"MSA {value} {unit}", "a ")
    prose = rng.choice([f"luminal area of {value} {unit}", f"cross-sectional area of {value} {unit}"])
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
            Finding("diameter", f"mean diameter of {round((d1 + d2) / 2, 1)} mm",
                    f"mean diam {round((d1 + d2) / 2, 1)} mm", "a "),
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
            if self.style.devices:
                forms += ["device"] * 3
            form = rng.choice(forms)
        if form == "device":
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
# {PR:kind:words}       PROCEDURE span (affirmed); {PRH:kind:words} historical
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
        if key in ("PR", "PRH"):
            return mk.procedure(kind, words, "historical" if key == "PRH" else "affirmed")
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
    primary: bool = True  # a primary procedure (study / intervention) is documented
    stated_count: int | None = None
    comment: str = ""

    def counted(self) -> list[str]:
        seen: list[str] = []
        for run in self.runs:
            if run.role == "coronary":
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
            "{PR:venography:Iliac venogram}, {side}",
            "{PR:venography:Cavogram} and {side} iliac {PR:venography:venogram}",
        ),
        indication=(
            "{age}-year-old {sex} with {side} lower extremity swelling, heaviness and venous "
            "claudication despite compression therapy. {MH:duplex:Duplex ultrasound} excluded acute "
            "{P:thrombus:DVT}. Suspected {P:compression:compression} of the {V:vein.iliac.S}.",
            "{Side} leg edema and skin changes (CEAP C4a) in a {age}-year-old {sex}; cross-sectional imaging "
            "suggested {P:compression:compression} of the {V:vein.common_iliac.S} by the overlying "
            "{V:artery.common_iliac.O}.",
            "{age} y/o {sex}, chronic {side} leg swelling, history of {side} {P:thrombus:DVT} "
            "treated with anticoagulation. Referred for evaluation of "
            "{P:compression:compression} of the {V:vein.iliac.S}.",
        ),
        study_findings=(
            "{STUDY} demonstrated {SEV}% narrowing of the {LV} with cross-pelvic collateral filling.",
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
            "Ambulate today, discharge home, aspirin 81 mg daily, follow up in clinic in one month.",
        ),
        completion=VEN_COMPLETION,
        extras={
            "landmark": (
                "The point of maximal narrowing was at the crossing of the {V:artery.common_iliac.O}.",
                "The {LV} was compressed where it passes beneath the {V:artery.common_iliac.O}.",
            ),
            "angio-only": (
                "The {V:vein.femoral.S} and {V:vein.popliteal.S} were patent on the "
                "{STUDY_W}.",
                "The {V:vein.internal_iliac.S} filled normally on the {STUDY_W}.",
            ),
        },
    ),
    "iliac-artery": Area(
        system="artery",
        study_kind="angiography",
        study_words=("angiogram", "angiography", "aortogram", "arteriogram"),
        list_study=(
            "{PR:angiography:Abdominal aortogram} with bilateral iliac runoff",
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
            "with monophasic femoral waveforms.",
        ),
        study_findings=(
            "{STUDY} demonstrated a {SEV}% {LP} of the {LV}.",
            "{STUDY} showed a heavily calcified {SEV}% {LP} involving the {LV}.",
            "{STUDY} revealed a focal high-grade {LP} of the {LV}; the contralateral iliac "
            "system was without significant disease.",
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
