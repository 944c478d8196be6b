"""The extent parser: "from X to Y", "X through Y", "X extending into Y", "pullback from X to Y".

Two vessel mentions of one sentence form an extent when only connector words stand between
them and either "from" precedes the first, a continuity word or a strong connector ("through",
"into") joins them, or the clause speaks of imaging ("pullback ... IVC to CFV"). A list after the
second end carries the extent to the list's last vessel ("extending into the EIV and CIV").

Kind (RULEBOOK 3.2): ``lesion`` when a pathology noun is attached (just before the first end,
or right after the second) and is not marked as several ("two stenoses", "separate lesions");
otherwise ``imaging`` when the clause has IVUS or imaging words, ``treatment`` when it has
stent or balloon words, ``lesion`` when a pathology stands earlier in the clause.
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from rules_core.ontology import load_ontology

from .mentions import LIST_GLUE
from .rules_io import cues
from .state import State, VMention, XExtent, state_of

DETERMINERS = frozenset({"the", "a", "an", "its", "his", "her", "their", "this"})
STRONG = frozenset({"through", "thru", "into", "across", "until"})
PLURAL_PATHOLOGY = frozenset({"stenoses", "lesions", "occlusions", "narrowings", "webs", "clots"})


def find_extents(doc: Doc, state: State) -> None:
    """Fill ``state.extents`` (see the module docstring for the rules)."""
    cue = cues()
    mentions = _distinct(sorted(state.vessels, key=lambda m: (m.start, m.end)))
    number = 0
    for index, first in enumerate(mentions):
        if index + 1 >= len(mentions):
            break
        following, between = _pair(state, mentions, index)
        second = mentions[following]
        if state.sent_of[first.start] != state.sent_of[second.start] or second.start < first.end:
            continue
        if not between or len(between) > 8:
            continue
        if any(
            w not in cue.extent_connectors and w not in DETERMINERS and not _is_number(w)
            for w in between
        ):
            continue
        if not any(w in cue.extent_core for w in between):
            continue
        first = _placed_at(state, mentions, index)
        has_from = _from_before(doc, first.start, cue.extent_from)
        chained = bool(state.extents) and state.extents[-1].second == first.id
        if not has_from and not chained and _passed_through(doc, first.start):
            continue  # "advanced through the IVC into the left CIV": travel, not an extent
        continuity = any(w in cue.continuity_words for w in between)
        strong = any(w in STRONG for w in between)
        clause = state.clause_of[first.start]
        imaging = clause_has(doc, state, first.start, cue.imaging_words) or any(
            state.clause_of[t.start] == clause for t in state.ivus
        )
        if not (has_from or continuity or strong or imaging):
            continue
        last = _list_tail(doc, state, mentions, following)
        kind, pathology = _kind(doc, state, first, last, clause, imaging)
        if kind != "lesion" and _continuing(state, first.start, between, cue):
            kind = "lesion"  # "plaque extending from the CIA into the first 15 mm of the EIA"
        if kind != "lesion" and _branch_and_parent(first, last):
            continue  # a pullback from the SMA back to the aorta does not image the aorta
        if chained:  # "from the IVC through the right CIV into the right EIV": one extent
            previous = state.extents[-1]
            previous.end, previous.second = last.end, last.id
            continue
        number += 1
        state.extents.append(
            XExtent(
                id=f"x{number}",
                start=first.start,
                end=last.end,
                kind=kind,
                first=first.id,
                second=last.id,
                pathology=pathology,
            )
        )


def _pair(state: State, mentions: list[VMention], index: int) -> tuple[int, list[str]]:
    """The mention an extent from ``mentions[index]`` would run to, and the words between; a
    comma-set aside is skipped: "from the distal left CCA, just below the origin of the external
    carotid, into the proximal left ICA"."""
    lower = state.lower
    first = mentions[index]
    if first.end < len(lower) and lower[first.end] == ",":
        close = next(
            (k for k in range(first.end + 1, min(first.end + 12, len(lower))) if lower[k] == ","),
            None,
        )
        if close is not None and state.sent_of[close] == state.sent_of[first.start]:
            after = next(
                (j for j in range(index + 1, len(mentions)) if mentions[j].start > close), None
            )
            if after is not None:
                return after, lower[close + 1 : mentions[after].start]
    return index + 1, lower[first.end : mentions[index + 1].start]


def _placed_at(state: State, mentions: list[VMention], index: int) -> VMention:
    """'from the IVC at the renal veins to the popliteal vein': the end is the IVC, placed at a
    landmark, not the landmark."""
    first = mentions[index]
    at = first.start - 1
    if at > 0 and state.lower[at] in DETERMINERS:
        at -= 1
    if index > 0 and state.lower[at] == "at" and mentions[index - 1].end == at:
        return mentions[index - 1]
    return first


def _is_number(word: str) -> bool:
    return word.replace(".", "", 1).isdigit()


def _branch_and_parent(a: VMention, b: VMention) -> bool:
    ontology = load_ontology()
    return any(
        ontology.branch_parent(x, y) or ontology.branch_parent(y, x)
        for x in a.candidates
        for y in b.candidates
    )


def _continuing(state: State, start: int, between: list[str], cue: Any) -> bool:
    """Continuity words join the two ends ("extending into", "continuous plaque beginning in the
    CCA and running into the ICA") of a lesion named just before, and nothing says the disease is
    several lesions. A "continuous pullback" is no lesion."""
    before = state.lower[max(0, start - 8) : start]
    if not any(w in cue.continuity_words for w in (*between, *before)):
        return False
    clause = state.clause_of[start]
    lesion = any(
        state.clause_of[p.start] == clause and 0 <= start - p.end <= 12
        for p in (*state.pathologies, *state.findings)  # "plaque burden extending from ..."
    )
    return lesion and not any(
        w in cue.separate_words for w in state.lower[max(0, start - 12) : start]
    )


def _distinct(mentions: list[VMention]) -> list[VMention]:
    """One mention per position (coordinated names share a span)."""
    out: list[VMention] = []
    for mention in mentions:
        if out and out[-1].start == mention.start and out[-1].end == mention.end:
            continue
        out.append(mention)
    return out


def _from_before(doc: Doc, start: int, from_words: frozenset[str]) -> bool:
    j = start - 1
    steps = 0
    while j >= 0 and steps < 4:
        word = doc[j].lower_
        if word in from_words:
            return True
        if word not in DETERMINERS and word not in {"level", "of", "proximal", "distal", "mid"}:
            return False
        j -= 1
        steps += 1
    return False


def _passed_through(doc: Doc, start: int) -> bool:
    j = start - 1
    while j >= 0 and doc[j].lower_ in DETERMINERS:
        j -= 1
    return j >= 0 and doc[j].lower_ in {"through", "thru", "across", "via", "traversing"}


def _list_tail(doc: Doc, state: State, mentions: list[VMention], index: int) -> VMention:
    """The last vessel of a list after the second end; not one said to be spared ("into the
    left CIV, IVC spared")."""
    spared = cues().spared_words
    last = mentions[index]
    for nxt in mentions[index + 1 :]:
        gap = [state.lower[i] for i in range(last.end, nxt.start)]
        if not gap or len(gap) > 3 or any(w not in LIST_GLUE for w in gap):
            break
        if state.sent_of[nxt.start] != state.sent_of[last.start]:
            break
        if nxt.end < len(state.lower) and state.lower[nxt.end] in spared:
            break
        last = nxt
    return last


def clause_has(doc: Doc, state: State, token: int, words: frozenset[str]) -> bool:
    """Whether the clause holding ``token`` contains one of ``words``."""
    clause = state.clause_of[token]
    sent_start, sent_end = state.sentences[state.sent_of[token]]
    return any(
        state.clause_of[i] == clause and state.lower[i] in words
        for i in range(sent_start, sent_end)
    )


def _kind(
    doc: Doc, state: State, first: VMention, last: VMention, clause: int, imaging: bool
) -> tuple[str, str | None]:
    cue = cues()
    attached = None
    for pathology in state.pathologies:
        if state.clause_of[pathology.start] != clause:
            continue
        before = pathology.end <= first.start and first.start - pathology.end <= 8
        after = pathology.start in (last.end, last.end + 1)
        if before or after:
            attached = pathology
    if attached is not None and not _several(doc, attached.start, cue.separate_words):
        return "lesion", attached.id
    if imaging:
        return "imaging", None
    if clause_has(doc, state, first.start, cue.treatment_words):
        return "treatment", None
    earlier = [
        p for p in state.pathologies if state.clause_of[p.start] == clause and p.end <= first.start
    ]
    if earlier and not _several(doc, earlier[-1].start, cue.separate_words):
        return "lesion", earlier[-1].id
    if _sentence_images(state, first.start, cue.imaging_words):
        return "imaging", None  # "the pullback ran ...; on the left, from the IVC to the CIV"
    sent = state.sent_of[first.start]
    if sent > 0 and _sentence_images(state, state.sentences[sent - 1][0], cue.imaging_words):
        return "imaging", None  # "IVUS pullbacks were done. On the right, it went from X to Y."
    return "treatment", None


def _sentence_images(state: State, token: int, words: frozenset[str]) -> bool:
    sent_start, sent_end = state.sentences[state.sent_of[token]]
    return any(state.lower[i] in words for i in range(sent_start, sent_end)) or any(
        sent_start <= t.start < sent_end for t in state.ivus
    )


def _several(doc: Doc, start: int, separate: frozenset[str]) -> bool:
    """'two stenoses', 'separate lesions': the pathology is not one continuous lesion."""
    if doc[start].lower_ in PLURAL_PATHOLOGY:
        return True
    return any(doc[j].lower_ in separate for j in range(max(0, start - 3), start))


@Language.component("ivus_extents")
def ivus_extents(doc: Doc) -> Doc:
    """spaCy component wrapping :func:`find_extents`."""
    find_extents(doc, state_of(doc))
    return doc
