"""The rule linker: which vessel mentions each affirmed IVUS statement examined (RULEBOOK 5).

First every vessel mention gets a role from the words around it: ``access`` ("via the right
CFV", "right IJ access", "was accessed"), ``landmark`` ("compressed by the right CIA", "between
the SMA and the aorta", "below the renal veins"), ``transit`` ("advanced through the IVC", "a
wire parked in the aorta") or ``named``. Only named mentions are linked. A paired vessel still
without a side takes the side of the note when every side the note gives agrees. Then, for each
affirmed IVUS mention:

1. ``same-sentence``: named vessels of its sentence, except those in a comma segment that speaks
   of another modality only (angiography, venography, duplex...) or in a clause that is only a
   treatment ("a stent was deployed in ...");
2. ``follow-on``: the next sentences of the same section and paragraph that report results (a
   finding, or a pathology with a result verb; in an IVUS findings section also short list lines
   that name a vessel) and name no other modality, until one does not;
3. ``antecedent``: when its sentence names no vessel but reports a result about "the stent" or
   "the treated segment", the vessels of the treatment sentence just before.

A vessel named both in the numbered procedure list and in the narrative is linked twice; the
coder counts it once. Findings in these contexts are IVUS findings, attributed to the nearest
linked vessel of their clause (else every vessel linked in that context); findings outside them
(angiographic stenoses) are dropped.
"""

from __future__ import annotations

import itertools
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from rules_core.ontology import load_ontology

from .extents import DETERMINERS, clause_has
from .mentions import LIST_GLUE, side_of_token
from .rules_io import CueFile, cues
from .state import State, Target, VMention, state_of

COMPETING_PROCEDURES = frozenset({"angiography", "venography"})
ACCESS_STOP = frozenset(
    {"into", "to", "across", "throughout", "of", "from", "and", ",", ";", ":", "("}
)
ACCESS_OF = frozenset({"access", "puncture", "cannulation", "catheterization"})
FOLLOW_ON_LIMIT = 12  # sentences; a findings list after "measurements as follows" runs long
BETWEEN_GLUE = frozenset({"and", "the", "&"})
WIRE_PREPOSITIONS = frozenset({"into", "to", "in", "the", "a", "across", "up", "down"})
IMAGING_DEVICES = frozenset({"probe", "transducer", "catheter", "pullback", "pull-back", "ivus"})
NEGATIONS = frozenset({"no", "without", "neither", "nor"})  # "No intraluminal webs." is a result
PULLBACK_WORDS = frozenset(
    {"pulled", "pullback", "pull-back", "withdrawn", "withdrew", "retracted"}
)
SIDE_WORDS = frozenset(w for words in load_ontology().data.sides.values() for w in words)


# --- roles -------------------------------------------------------------------------------------
def assign_roles(doc: Doc, state: State) -> None:
    """Give each vessel mention its role: access, landmark, transit or named."""
    cue = cues()
    endpoints = {e.first for e in state.extents} | {e.second for e in state.extents}
    before_phrases = PhraseIndex(cue.access_before_phrases)
    after_phrases = PhraseIndex(cue.access_after_phrases)
    landmark_phrases = PhraseIndex(cue.landmark_before_phrases)
    vessel_tokens = {i for m in state.vessels for i in range(m.start, m.end)}
    ordered = sorted(state.vessels, key=lambda m: (m.start, m.end))
    for index, mention in enumerate(ordered):
        if mention.kind == "coronary":
            continue
        lower = state.lower
        if _is_access(state, mention, cue, before_phrases, after_phrases, endpoints, vessel_tokens):
            mention.role = "access"
        elif mention.id not in endpoints and _is_landmark(state, mention, cue, landmark_phrases):
            mention.role = "landmark"
            if _ends_at(lower, mention.start, ["between", "the"]) or _ends_at(
                lower, mention.start, ["between"]
            ):
                _spread_between(state, ordered, index)
            if mention.end < len(lower) and lower[mention.end] in cue.landmark_after:
                _spread_back(state, ordered, index)
        elif mention.id not in endpoints and (
            _is_transit(state, mention, cue)
            or _is_wire_position(state, mention, cue, vessel_tokens)
        ):
            mention.role = "transit"
        elif _is_treatment_object(doc, state, mention, cue):
            mention.role = "treated"
    mark_parents_of_branches(state)


LANDMARK_GAP = frozenset(
    {
        "origin",
        "origins",
        "ostium",
        "ostia",
        "orifice",
        "takeoff",
        "(",
        ")",
        "left",
        "right",
        "was",
        "were",
        "is",
        "are",
    }
)
POSITIONAL = frozenset({"into", "to", "toward", "towards"})
MOVEMENT = frozenset(
    {
        "pulled",
        "pullback",
        "withdrawn",
        "advanced",
        "flared",
        "protruding",
        "protrudes",
        "extends",
        "back",
    }
)


def mark_parents_of_branches(state: State) -> None:
    """'advanced into the SMA and pulled back to the aorta', 'flared 1 mm into the aorta': the
    parent a side branch leaves, named as a position beside the branch, is a landmark."""
    ontology = load_ontology()
    by_sent: dict[int, list[VMention]] = {}
    for mention in state.vessels:
        by_sent.setdefault(state.sent_of[mention.start], []).append(mention)
    lesion_ends = {e.first for e in state.extents if e.kind == "lesion"} | {
        e.second for e in state.extents if e.kind == "lesion"
    }
    for sent, mentions in by_sent.items():
        start, end = state.sentences[sent]
        if MOVEMENT.isdisjoint(state.lower[start:end]):
            continue
        for mention in mentions:
            if mention.role != "named" or mention.id in lesion_ends:
                continue
            j = mention.start - 1
            while j >= 0 and (
                state.lower[j] in DETERMINERS
                or state.lower[j] in {"mm", "cm"}
                or _number(state.lower[j])
            ):
                j -= 1
            if j < 0 or state.lower[j] not in POSITIONAL:
                continue
            if any(
                ontology.branch_parent(child, parent)
                for other in mentions
                if other is not mention and other.role == "named"
                for child in other.candidates
                for parent in mention.candidates
            ):
                mention.role = "landmark"


def _number(word: str) -> bool:
    return word.replace(".", "", 1).isdigit()


def _spread_between(state: State, ordered: list[VMention], index: int) -> None:
    """'between the SMA and the aorta': the second vessel is a landmark too."""
    first = ordered[index]
    for other in ordered[index + 1 :]:
        gap = state.lower[first.end : other.start]
        if other.start >= first.end and gap and all(w in BETWEEN_GLUE for w in gap):
            other.role = "landmark"
        break


def _spread_back(state: State, ordered: list[VMention], index: int) -> None:
    """'the celiac, SMA and right renal artery arise from the true lumen': every vessel of the
    list before a landmark verb is a landmark."""
    current = ordered[index]
    for other in reversed(ordered[:index]):
        gap = state.lower[other.end : current.start]
        if other.end > current.start or not gap or any(w not in LIST_GLUE for w in gap):
            break
        other.role = "landmark"
        current = other


def _ends_at(lower: list[str], end: int, phrase: list[str]) -> bool:
    start = end - len(phrase)
    return start >= 0 and lower[start:end] == phrase


class PhraseIndex:
    """Cue phrases as word tuples grouped by length, for quick 'ends here' / 'starts here' (a
    few set lookups, whatever the number of phrases)."""

    def __init__(self, phrases: tuple[str, ...]) -> None:
        by_length: dict[int, set[tuple[str, ...]]] = {}
        for phrase in phrases:
            words = tuple(phrase.split())
            by_length.setdefault(len(words), set()).add(words)
        self.by_length = sorted(by_length.items())

    def ends_at(self, lower: list[str], end: int) -> bool:
        return any(
            size <= end and tuple(lower[end - size : end]) in group
            for size, group in self.by_length
        )

    def starts_at(self, lower: list[str], start: int) -> bool:
        return any(
            start + size <= len(lower) and tuple(lower[start : start + size]) in group
            for size, group in self.by_length
        )


def _is_access(
    state: State,
    mention: VMention,
    cue: CueFile,
    before_phrases: PhraseIndex,
    after_phrases: PhraseIndex,
    endpoints: set[str],
    vessel_tokens: set[int],
) -> bool:
    lower = state.lower
    nxt = mention.end
    if nxt < len(lower) and lower[nxt] in cue.access_after:
        return True
    if after_phrases.starts_at(lower, nxt):
        return True
    if mention.id in endpoints:
        return False
    if (
        before_phrases.ends_at(lower, mention.start)
        and "from" not in lower[max(0, mention.start - 6) : mention.start - 2]
    ):
        return True  # not "brought up from the groin sheath into the left brachiocephalic vein"
    clause = state.clause_of[mention.start]
    j = mention.start - 1
    steps = 0
    while j >= 0 and steps < 6 and state.clause_of[j] == clause:
        word = state.lower[j]
        if word in cue.access_before:
            return True
        if word == "of" and j > 0 and lower[j - 1] in ACCESS_OF:
            return True
        if word in ACCESS_STOP or j in vessel_tokens:
            return False
        j -= 1
        steps += 1
    return False


def _is_landmark(state: State, mention: VMention, cue: CueFile, phrases: PhraseIndex) -> bool:
    start = mention.start
    while start > 0 and state.lower[start - 1] in cue.landmark_skip:
        start -= 1  # "below the lowest renal vein", "beyond the left subclavian artery"
    if phrases.ends_at(state.lower, mention.start) or phrases.ends_at(state.lower, start):
        return True
    at = start - 2 if start >= 2 and state.lower[start - 1] == "the" else start - 1
    if at > 0 and state.lower[at] == "at" and any(m.end == at for m in state.vessels):
        return True  # "the IVC at the renal veins": a vessel placed at another vessel
    for word in state.lower[mention.end : mention.end + 5]:
        if word in cue.landmark_after:
            return True  # "the hypogastric origin marked at 62 mm", "renal arteries were marked"
        if word not in LANDMARK_GAP:
            return False
    return False


def _is_transit(state: State, mention: VMention, cue: CueFile) -> bool:
    j = mention.start - 1
    while j >= 0 and state.lower[j] in DETERMINERS:
        j -= 1
    if j < 0 or state.lower[j] not in {"through", "thru", "across", "traversing"}:
        return False
    sent_start, _ = state.sentences[state.sent_of[mention.start]]
    return any(state.lower[i] in cue.advance_verbs for i in range(sent_start, j))


def _is_wire_position(
    state: State, mention: VMention, cue: CueFile, vessel_tokens: set[int]
) -> bool:
    """'a Bentson wire was parked in the distal aorta', 'a Glidewire into the right EIA', 'along
    the PT wire': where a wire lies is not imaged."""
    if mention.end < len(state.lower) and state.lower[mention.end] in cue.transit_after:
        return True
    segment = state.segment_of[mention.start]
    verb = False
    only_prepositions = True
    j = mention.start - 1
    while j >= 0 and mention.start - j <= 8 and state.segment_of[j] == segment:
        word = state.lower[j]
        if any(t.start <= j < t.end for t in state.ivus) or j in vessel_tokens:
            return False
        if word in cue.wire_verbs:
            verb = True
        elif word in cue.wire_words:
            return verb or only_prepositions
        if word not in WIRE_PREPOSITIONS:
            only_prepositions = False
        j -= 1
    return False


def _is_treatment_object(doc: Doc, state: State, mention: VMention, cue: CueFile) -> bool:
    """'left ovarian vein embolization', 'left CIV stent placement': the vessel names what a
    treatment acted on (unless 'IVUS of the ...' names it as imaged)."""
    j = mention.start - 1
    while j >= 0 and state.lower[j] in DETERMINERS:
        j -= 1
    if j >= 0 and state.lower[j] == "of":
        return False
    for word in state.lower[mention.end : mention.end + 4]:
        if word in cue.treatment_after:
            return True  # "carotid-subclavian bypass", "left ovarian vein embolization"
        if word not in {"-", "/", "to"} and not word.isalpha():
            break
        if word not in {"-", "/", "to", "subclavian", "carotid", "axillary", "femoral", "artery"}:
            break
    for procedure in state.procedures:
        if procedure.kind in cue.treatment_procedures and procedure.start == mention.end:
            return True
        if procedure.start <= mention.start and mention.end <= procedure.end:
            return True  # "inferior vena cava filter placement" names where a device went
    return False


def infer_document_sides(doc: Doc, state: State) -> None:
    """A paired vessel named without a side takes the note's side when every side the note
    gives for its vessels (access vessels aside) and limbs ("left leg") is the same."""
    cue = cues()
    sides: set[str] = set()
    for mention in state.vessels:
        if mention.kind == "coronary" or mention.role == "access" or mention.side_inherited:
            continue
        if mention.side in ("left", "right"):
            sides.add(mention.side)
        elif mention.side == "bilateral":
            sides.update(("left", "right"))
    lower = state.lower
    for i in range(len(lower) - 1):
        if lower[i + 1] in cue.body_side_nouns and lower[i] in SIDE_WORDS:
            side = side_of_token(doc[i].text)
            if side in ("left", "right"):
                sides.add(side)
    if len(sides) != 1:
        return
    side = next(iter(sides))
    ontology = load_ontology()
    for mention in state.vessels:
        unsided = mention.side is None and mention.kind != "coronary" and not mention.plural
        if unsided and any(ontology.is_paired(c) for c in mention.candidates):
            mention.side = side
            mention.side_inherited = True


# --- clause classes -----------------------------------------------------------------------------
class _Clauses:
    """Per-clause and per-segment facts the linker asks about, computed once per document."""

    def __init__(self, doc: Doc, state: State, cue: CueFile) -> None:
        self.state = state
        self.ivus_segments: set[int] = {state.segment_of[t.start] for t in state.ivus}
        self.ivus_clauses: set[int] = {state.clause_of[t.start] for t in state.ivus}
        self.competing: set[int] = {
            state.segment_of[p.start] for p in state.procedures if p.kind in COMPETING_PROCEDURES
        } | {state.segment_of[m.start] for m in state.modalities}
        self.findings: set[int] = {state.clause_of[f.start] for f in state.findings}
        self.treatment: set[int] = {
            state.clause_of[i] for i, word in enumerate(state.lower) if word in cue.treatment_words
        }
        self.treatment_segments: set[int] = {
            state.segment_of[p.start]
            for p in state.procedures
            if p.kind in cue.treatment_procedures
        }

    def competing_segment(self, token: int) -> bool:
        segment = self.state.segment_of[token]
        return segment in self.competing and segment not in self.ivus_segments

    def linkable(self, mention: VMention) -> bool:
        """A mention an IVUS statement of the same sentence may have examined."""
        if self.competing_segment(mention.start):
            return False
        segment = self.state.segment_of[mention.start]
        in_list = self.state.section_of[mention.start] == "procedures"
        if in_list and segment in self.treatment_segments and segment not in self.ivus_segments:
            return False  # "1. IVUS of the IVC, balloon venoplasty of the left CIV": another item
        clause = self.state.clause_of[mention.start]
        if clause in self.ivus_clauses:
            return True
        return not (clause in self.treatment and clause not in self.findings)


# --- evidence ------------------------------------------------------------------------------------
OBJECT_GAP = frozenset(
    {
        "of",
        "the",
        "a",
        "an",
        "in",
        "within",
        "through",
        "across",
        "along",
        "into",
        "at",
        "from",
        "was",
        "were",
        "is",
        "then",
        "also",
        "performed",
        "done",
        "obtained",
        "imaged",
        "interrogated",
        "evaluated",
        "assessed",
        "examined",
        "interrogation",
        "evaluation",
        "assessment",
        "imaging",
        "examination",
        "run",
        "runs",
        "pullback",
        "pull-back",
        "catheter",
        "probe",
        "with",
        "by",
        "using",
        "on",
        ":",
        "-",
        "(",
        ")",
        ",",
        "and",
        "both",
        "entire",
        "whole",
        "each",
        "yes",  # a template field, "IVUS: yes - L EIA"
    }
)
PATHOLOGY_GAP = frozenset(
    {"of", "in", "at", "involving", "within", "the", "a", "an", "-", "throughout"}
)


def examined_evidence(doc: Doc, state: State, cue: CueFile) -> set[str]:
    """Vessel mentions the words themselves show were examined: the object of an IVUS mention
    ("IVUS of the IVC and left CIV", "the left EIV was imaged with IVUS"), the subject of an IVUS
    finding (the vessel just before a measurement), the site of a pathology ("compression of the
    left CIV", "left CIV stenosis"), the end of an imaging or lesion extent, the label of a
    findings-list line ("Left EIV: ..."), and every vessel listed with one of these. A vessel named
    beside the IVUS with none of these ("with the SMA pulsating anteriorly") is not linked."""
    lower = state.lower
    qualifiers = frozenset(load_ontology().data.segment_qualifiers)
    gap_words = OBJECT_GAP | qualifiers | DETERMINERS
    named = sorted((m for m in state.vessels if m.role == "named"), key=lambda m: m.start)
    vessel_tokens = {i for m in state.vessels for i in range(m.start, m.end)}
    evidence: set[str] = set()

    def clear_gap(a: int, b: int) -> bool:
        if b - a > 10:
            return False
        i = a
        while i < b:
            if lower[i] == "(" and ")" in lower[i + 1 : min(b, i + 6)]:
                i = lower.index(")", i + 1)  # "IVUS (PV .035): IVC"
            elif not (lower[i] in gap_words or i in vessel_tokens):
                return False
            i += 1
        return True

    for ivus in state.ivus:
        for mention in named:
            if state.clause_of[mention.start] != state.clause_of[ivus.start]:
                continue
            after = mention.start >= ivus.end and clear_gap(ivus.end, mention.start)
            before = mention.end <= ivus.start and clear_gap(mention.end, ivus.start)
            if after or before:
                evidence.add(mention.id)
    for finding in state.findings:
        clause = state.clause_of[finding.start]
        same = [m for m in named if state.clause_of[m.start] == clause]
        before = [m for m in same if m.end <= finding.start]
        after = [m for m in same if m.start >= finding.end]
        if before:
            evidence.add(before[-1].id)
        elif after:
            evidence.add(after[0].id)
    for pathology in state.pathologies:
        for mention in named:
            site_of = 0 <= mention.start - pathology.end <= 4 and all(
                lower[i] in PATHOLOGY_GAP or lower[i] in qualifiers
                for i in range(pathology.end, mention.start)
            )  # "compression of the left CIV"
            named_before = 0 <= pathology.start - mention.end <= 1  # "left CIV stenosis"
            if site_of or named_before:
                evidence.add(mention.id)
    for extent in state.extents:
        if extent.kind in ("imaging", "lesion"):
            evidence.update((extent.first, extent.second))
    for start, _ in state.units:
        i = start
        while i < len(lower) and (
            doc[i].is_space
            or lower[i] in {"-", "•", "*", ")", "("}
            or (lower[i].rstrip(".)").isalnum() and len(lower[i]) <= 2 and i not in vessel_tokens)
        ):
            i += 1
        for mention in named:
            if mention.start != i or mention.end >= len(lower):
                continue
            after = mention.end
            while after < len(lower) - 1 and doc[after].is_space and "\n" not in doc[after].text:
                after += 1
            if lower[after] in {":", "-", "—"} or doc[after].like_num:
                evidence.add(mention.id)  # "Left EIV: 152 mm2", a table row "R CIV  171  188  9"
    changed = True
    while changed:  # a list shares its evidence: "IVUS of the IVC, left CIV and EIV"
        changed = False
        for a, b in itertools.pairwise(named):
            if state.sent_of[a.start] != state.sent_of[b.start] or b.start < a.end:
                continue
            gap = lower[a.end : b.start]
            if (
                len(gap) <= 4
                and all(w in LIST_GLUE for w in gap)
                and (a.id in evidence) != (b.id in evidence)
            ):
                evidence.update((a.id, b.id))
                changed = True
    return evidence


# --- links --------------------------------------------------------------------------------------
def link(doc: Doc, state: State) -> None:
    """Fill ``state.links`` and ``state.ivus_findings`` (see the module docstring)."""
    cue = cues()
    clauses = _Clauses(doc, state, cue)
    named_by_sent: dict[int, list[VMention]] = {}
    for mention in state.vessels:
        if mention.role == "named":
            named_by_sent.setdefault(state.unit_of[mention.start], []).append(mention)
    findings_by_sent: dict[int, list[Target]] = {}
    for finding in state.findings:
        findings_by_sent.setdefault(state.unit_of[finding.start], []).append(finding)
    ivus_sents = {state.unit_of[t.start] for t in state.ivus}
    linked_findings: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()

    treated_by_sent: dict[int, list[VMention]] = {}
    for mention in state.vessels:
        if mention.role == "treated":
            treated_by_sent.setdefault(state.unit_of[mention.start], []).append(mention)

    def add(ivus: Target, mentions: list[VMention], basis: str) -> None:
        for mention in mentions:
            if (ivus.id, mention.id) not in seen:
                seen.add((ivus.id, mention.id))
                state.links.append((ivus.id, mention.id, basis))

    evidence = examined_evidence(doc, state, cue)
    reference = PhraseIndex(cue.reference_ivus_before)
    for ivus in state.ivus:
        if ivus.assertion != "affirmed":
            continue
        sent = state.unit_of[ivus.start]
        if reference.ends_at(state.lower, ivus.start):
            continue  # "based on the IVUS a stent was deployed ...": IVUS as a reference only
        here = [m for m in named_by_sent.get(sent, []) if clauses.linkable(m) and m.id in evidence]
        add(ivus, here, "same-sentence")
        _attribute(state, findings_by_sent.get(sent, []), here, clauses, linked_findings)
        context = list(here)
        followed = False
        for nxt in _follow_on(
            doc, state, sent, ivus_sents, named_by_sent, findings_by_sent, clauses, cue
        ):
            mentions = [
                m for m in named_by_sent.get(nxt, []) if clauses.linkable(m) and m.id in evidence
            ]
            add(ivus, mentions, "follow-on")
            context = mentions or context
            _attribute(state, findings_by_sent.get(nxt, []), context, clauses, linked_findings)
            followed = True
        if not here and not followed:
            previous = [
                m
                for m in _antecedent(
                    doc, state, sent, named_by_sent, treated_by_sent, findings_by_sent, cue
                )
                if not clauses.competing_segment(m.start)
            ]
            if previous:
                add(ivus, previous, "antecedent")
                _attribute(
                    state, findings_by_sent.get(sent, []), previous, clauses, linked_findings
                )
    _lesion_conclusions(state, add)
    state.ivus_findings = {fid: sorted(vids) for fid, vids in linked_findings.items()}


BACKGROUND_SECTIONS = frozenset({"indications", "history", "diagnosis", "plan"})


def _lesion_conclusions(state: State, add: Any) -> None:
    """'The occlusion was thus one continuous lesion from the infrarenal IVC through the right
    CIV into the right EIV': a lesion extent stated after the IVUS results, whose two ends name
    vessels that IVUS examined, is the IVUS's conclusion (RULEBOOK 3.2), so its ends are linked to
    the IVUS before it and the coder can merge. Background sections (indication, history) describe
    earlier studies and are left out; no vessel is added that IVUS did not already examine."""
    linked = {vessel for _, vessel, _ in state.links}
    by_id = {m.id: m for m in state.vessels}
    examined = {(m.candidates, m.side) for m in state.vessels if m.id in linked}
    ivus_by_id = {t.id: t for t in state.ivus}
    linked_ivus = sorted(
        (ivus_by_id[i] for i in {i for i, _, _ in state.links}), key=lambda t: t.start
    )
    for extent in state.extents:
        if extent.kind != "lesion" or state.section_of[extent.start] in BACKGROUND_SECTIONS:
            continue
        ends = [by_id[extent.first], by_id[extent.second]]
        if all(e.id in linked for e in ends):
            continue
        if not all((e.candidates, e.side) in examined for e in ends):
            continue
        before = [t for t in linked_ivus if t.start < extent.start]
        if before:
            add(before[-1], ends, "lesion-conclusion")


def _follow_on(
    doc: Doc,
    state: State,
    sent: int,
    ivus_sents: set[int],
    named_by_sent: dict[int, list[VMention]],
    findings_by_sent: dict[int, list[Target]],
    clauses: _Clauses,
    cue: CueFile,
) -> list[int]:
    """Sentences after ``sent`` that go on reporting this IVUS run's results."""
    out = []
    first, last = state.units[sent]
    section = state.section_of[first]
    if section == "impression":
        return out  # an impression lists conclusions, not the run's measurements
    in_findings_section = section == "ivus_findings"
    heading = _ends_with_colon(doc, first, last)
    paragraph = state.paragraph_of_unit[sent]

    def qualifies(unit: int) -> bool:
        start, end = state.units[unit]
        lower = state.lower[start:end]
        has_finding = bool(findings_by_sent.get(unit))
        has_result = any(start <= p.start < end for p in state.pathologies) and any(
            w in cue.result_verbs or w in NEGATIONS for w in lower
        )
        list_line = (
            (in_findings_section or heading)
            and bool(named_by_sent.get(unit))
            and end - start <= cue.list_line_max_tokens
        )
        words = set(lower)
        imaging = bool(
            words & cue.imaging_words
            and words & IMAGING_DEVICES
            and not words & cue.wire_words
            and not words & {"not", "no", "never", "without"}
        )  # "The probe was pulled back from the renal hilum into the IVC."
        run = any(
            x.kind == "imaging" and start <= x.start < end for x in state.extents
        )  # "On the right, it went from the right CIV to the right femoral vein."
        return has_finding or has_result or list_line or imaging or run

    limit = min(sent + 1 + FOLLOW_ON_LIMIT, len(state.units))
    for nxt in range(sent + 1, limit):
        start, end = state.units[nxt]
        if nxt in ivus_sents or state.section_of[start] != section:
            break
        if state.paragraph_of_unit[nxt] != paragraph:
            if not (heading and not out):
                break
            paragraph = state.paragraph_of_unit[nxt]  # a findings list may start after a blank line
        if not named_by_sent.get(nxt) and end - start <= 8 and _ends_with_colon(doc, start, end):
            heading, paragraph = True, state.paragraph_of_unit[nxt]  # "Measurements:" opens a list
            continue
        if any(clauses.competing_segment(i) for i in range(start, end) if not doc[i].is_punct):
            break
        if qualifies(nxt):
            out.append(nxt)
            continue
        later = [
            u
            for u in range(nxt + 1, limit)
            if state.sent_of[state.units[u][0]] == state.sent_of[start] and u not in ivus_sents
        ]
        if any(qualifies(u) for u in later):
            continue  # a piece of a run-on sentence goes on when a later piece reports results
        following = nxt + 1
        if not (
            following < limit
            and following not in ivus_sents
            and state.paragraph_of_unit[following] == paragraph
            and state.section_of[state.units[following][0]] == section
            and qualifies(following)
        ):
            break  # one sentence without results is tolerated when the next reports again
    return out


def _ends_with_colon(doc: Doc, start: int, end: int) -> bool:
    """'measurements as follows:' or an 'IVUS findings:' heading ends its sentence with ':'."""
    j = end - 1
    while j > start and doc[j].is_space:
        j -= 1
    return doc[j].text == ":"


def _antecedent(
    doc: Doc,
    state: State,
    sent: int,
    named_by_sent: dict[int, list[VMention]],
    treated_by_sent: dict[int, list[VMention]],
    findings_by_sent: dict[int, list[Target]],
    cue: CueFile,
) -> list[VMention]:
    """'Post-stent IVUS showed full expansion': the vessels of the treatment just before."""
    start, end = state.units[sent]
    words = {state.lower[i] for i in range(start, end)}
    if not findings_by_sent.get(sent) and not (words & cue.anaphora and words & cue.result_verbs):
        return []
    section = state.section_of[start]
    for prev in range(sent - 1, max(sent - 3, -1), -1):
        p_start, _ = state.units[prev]
        if state.section_of[p_start] != section:
            break
        mentions = named_by_sent.get(prev, []) + treated_by_sent.get(prev, [])
        p_end = state.units[prev][1]
        treated = (
            any(
                p_start <= p.start < p_end and p.kind in cue.treatment_procedures
                for p in state.procedures
            )
            or clause_has(doc, state, mentions[0].start, cue.treatment_words)
            if mentions
            else False
        )
        competing = any(p_start <= m.start < p_end for m in state.modalities) or any(
            p_start <= p.start < p_end and p.kind in COMPETING_PROCEDURES for p in state.procedures
        )
        if mentions and treated and not competing:
            return sorted(mentions, key=lambda m: m.start)
    return []


def _attribute(
    state: State,
    findings: list[Target],
    linked: list[VMention],
    clauses: _Clauses,
    out: dict[str, set[str]],
) -> None:
    """Attribute IVUS findings to the nearest linked vessel before them in their clause (else
    after them in it, else every vessel linked in this context)."""
    for finding in findings:
        if clauses.competing_segment(finding.start):
            continue
        clause = state.clause_of[finding.start]
        same = [m for m in linked if state.clause_of[m.start] == clause]
        before = [m for m in same if m.start < finding.start]
        after = [m for m in same if m.start >= finding.start]
        if before:
            chosen = [max(before, key=lambda m: m.start)]
        elif after:
            chosen = [min(after, key=lambda m: m.start)]
        else:
            chosen = list(linked)
        out.setdefault(finding.id, set()).update(m.id for m in chosen)


# --- modalities and stated counts ----------------------------------------------------------------
def mark_coronary_oct(state: State) -> None:
    """OCT in a sentence that names a coronary vessel is coronary OCT (92978/92979)."""
    coronary_sents = {state.sent_of[m.start] for m in state.vessels if m.kind == "coronary"}
    for modality in state.modalities:
        if modality.kind == "oct" and state.sent_of[modality.start] in coronary_sents:
            modality.kind = "oct-coronary"


def stated_counts(doc: Doc, state: State) -> None:
    """'IVUS, 3 vessels' / 'IVUS of two vessels' next to an affirmed IVUS mention."""
    cue = cues()
    for ivus in state.ivus:
        if ivus.assertion != "affirmed":
            continue
        for i in range(ivus.end, min(ivus.end + 5, len(doc) - 1)):
            word = state.lower[i]
            count = cue.count_words.get(word)
            if count is None and doc[i].like_num and word.isdigit():
                count = int(word)
            if count is not None and state.lower[i + 1] in cue.vessel_count_nouns:
                state.stated_counts.append((i, i + 2, count))
                break


@Language.component("ivus_linker")
def ivus_linker(doc: Doc) -> Doc:
    """spaCy component: roles, document sides, links, IVUS findings, stated vessel counts."""
    state = state_of(doc)
    assign_roles(doc, state)
    infer_document_sides(doc, state)
    link(doc, state)
    mark_coronary_oct(state)
    stated_counts(doc, state)
    return doc
