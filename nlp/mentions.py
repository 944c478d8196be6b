"""Vessel mention resolution: sides, coordination, lists and system hints.

- Side words before a vessel ("left", "Lt.", "L-", "R", "bilateral", "right and left") extend
  the mention and give its side; "bilaterally" after it makes it bilateral.
- Coordinated names share their head: "left common and external iliac veins" names the left
  common iliac vein and the left external iliac vein.
- In a list ("the left CIV, EIV and CFV") a side-less paired vessel takes the side of the vessel
  before it, and a system-neutral name ("common iliac") takes the list's system.
- A system-neutral name elsewhere takes the system its sentence, then the document, points to.
- Bare adjectives followed by a non-vessel head ("popliteal fossa", "femoral head") are dropped.
"""

from __future__ import annotations

from functools import cache

from spacy.language import Language
from spacy.tokens import Doc

from rules_core.ontology import load_ontology

from .rules_io import cues
from .state import State, VMention, state_of

LIST_GLUE = frozenset(
    {
        ",",
        "and",
        "or",
        "/",
        "&",
        "+",
        "as",
        "well",
        "the",
        "plus",
        "including",
        "both",
        "also",
        "then",
        "-",
        "with",
    }
)
COORD_GLUE = frozenset({"and", ",", "/", "&", "or"})
SIDE_GAP = frozenset({"-", "sided", "side"})


@cache
def _side_lexicon() -> tuple[dict[str, str], frozenset[str]]:
    data = load_ontology().data
    lexicon: dict[str, str] = {}
    for side, words in data.sides.items():
        for word in words:
            lexicon[word] = side
    return lexicon, frozenset(data.side_words_exact_case)


@cache
def _coordination_index() -> dict[tuple[str, str], int]:
    """(first word, rest of the term) → term index, for multi-word lower-case terms."""
    from .tokenizer import build_tokenizer_nlp

    tokenizer = build_tokenizer_nlp()
    index: dict[tuple[str, str], int] = {}
    for i, term in enumerate(load_ontology().terms):
        if term.exact_case or term.kind not in ("vessel", "generic"):
            continue
        words = [t.lower_ for t in tokenizer(term.text)]
        if len(words) >= 2:
            index.setdefault((words[0], " ".join(words[1:])), i)
    return index


def side_of_token(token_text: str) -> str | None:
    """The side a token names, honouring exact case for single letters ("L", not "l")."""
    lexicon, exact = _side_lexicon()
    lower = token_text.lower()
    side = lexicon.get(lower)
    if side is None:
        return None
    if lower in exact and token_text != token_text.upper():
        return None
    return side


def _paired(mention: VMention) -> bool:
    ontology = load_ontology()
    return any(ontology.is_paired(c) for c in mention.candidates)


def drop_non_vessel_heads(doc: Doc, state: State) -> None:
    """'popliteal fossa', 'femoral head': a bare name (no system noun, no abbreviation) before
    a non-vessel noun is no vessel."""
    heads = frozenset(load_ontology().data.non_vessel_heads)
    kept = []
    for mention in state.vessels:
        nxt = state.lower[mention.end] if mention.end < len(doc) else ""
        bare = mention.system is None and mention.kind in ("vessel", "generic")
        if bare and nxt in heads:
            continue
        kept.append(mention)
    state.vessels = kept


def expand_coordination(doc: Doc, state: State) -> None:
    """'common and external iliac veins' → a mention for each coordinated name."""
    index = _coordination_index()
    terms = load_ontology().terms
    added: list[VMention] = []
    for mention in state.vessels:
        words = [t.lower_ for t in doc[mention.start : mention.end]]
        if len(words) < 2:
            continue
        rest = " ".join(words[1:])
        group_start = mention.start
        j = mention.start - 1
        found: list[tuple[int, int]] = []
        while j >= 1 and state.lower[j] in COORD_GLUE:
            prefix = state.lower[j - 1]
            if (prefix, rest) not in index:
                break
            found.append((j - 1, index[(prefix, rest)]))
            group_start = j - 1
            j -= 2
            while j >= 1 and state.lower[j] == "," and state.lower[j - 1] in COORD_GLUE:
                j -= 1
        if not found:
            continue
        mention.start = group_start
        mention.coordinated = True
        mention.plural = False
        for _, term_index in found:
            term = terms[term_index]
            added.append(
                VMention(
                    id="",
                    start=group_start,
                    end=mention.end,
                    kind=term.kind,
                    candidates=term.candidates,
                    system=term.system,
                    plural=False,
                    side=term.side,
                    coordinated=True,
                )
            )
    if added:
        state.vessels.extend(added)
        state.vessels.sort(key=lambda m: (m.start, m.end, m.candidates))
        for number, mention in enumerate(state.vessels, start=1):
            mention.id = f"v{number}"


def resolve_sides(doc: Doc, state: State) -> None:
    """Side words before (and 'bilaterally' after) a mention give its side and extend it."""
    qualifiers = frozenset(load_ontology().data.segment_qualifiers)
    for mention in state.vessels:
        if mention.side is not None:
            continue
        j = mention.start - 1
        while j >= 0 and (
            state.lower[j] in qualifiers
            or state.lower[j] in SIDE_GAP
            or doc[j].text == "."
            or doc[j].is_space
        ):
            j -= 1
        side = side_of_token(doc[j].text) if j >= 0 else None
        if side is not None:
            start = j
            k = j - 1
            if k >= 1 and state.lower[k] in {"and", "&", "/", "or"}:
                other = side_of_token(doc[k - 1].text)
                if other is not None and other != side:
                    side, start = "bilateral", k - 1
            mention.side = side
            mention.start = start
            continue
        nxt = mention.end
        if nxt < len(doc) and state.lower[nxt] == "bilaterally":
            mention.side = "bilateral"
        elif nxt + 2 < len(doc) and doc[nxt].text == "(" and doc[nxt + 2].text == ")":
            mention.side = side_of_token(doc[nxt + 1].text)


def distribute_over_lists(doc: Doc, state: State) -> None:
    """Within a list of vessels, a side-less paired vessel takes the side before it, and
    system-neutral names take the system the list's other names give."""
    chains: list[list[VMention]] = []
    previous: VMention | None = None
    for mention in sorted(state.vessels, key=lambda m: (m.start, m.end)):
        if previous is not None and _glued(doc, state, previous, mention):
            chains[-1].append(mention)
        else:
            chains.append([mention])
        previous = mention
    for chain in chains:
        if len(chain) > 1:
            for mention in chain[1:]:
                if mention.plural and mention.side is None:
                    mention.plural = False  # "the femoral and common femoral veins": a shared head
        side = None
        for mention in chain:
            if mention.side is not None:
                side = mention.side
            elif side is not None and _paired(mention) and mention.kind != "coronary":
                mention.side = side
                mention.side_inherited = True
        systems = {m.system for m in chain if m.system}
        if len(systems) == 1:
            hint = next(iter(systems))
            for mention in chain:
                if mention.system is None:
                    mention.system_hint = hint


def _glued(doc: Doc, state: State, a: VMention, b: VMention) -> bool:
    if b.start < a.end:
        return True
    if state.sent_of[a.start] != state.sent_of[b.start] or b.start - a.end > 4:
        return False
    return all(state.lower[i] in LIST_GLUE for i in range(a.end, b.start))


def hint_systems(doc: Doc, state: State) -> None:
    """Neutral names take the system of words right after them, of their sentence, or of the
    document (the last is left to the coder as ``document_system``)."""
    cue = cues()
    vein_words, artery_words = cue.system_vein_words, cue.system_artery_words
    for mention in state.vessels:
        if mention.system or mention.system_hint or mention.kind in ("coronary",):
            continue
        after = [state.lower[i] for i in range(mention.end, min(mention.end + 2, len(doc)))]
        if any(w in ("vein", "veins", "venous") for w in after):
            mention.system_hint = "vein"
            continue
        if any(w in ("artery", "arteries", "arterial") for w in after):
            mention.system_hint = "artery"
            continue
        sent = state.sent_of[mention.start]
        start, end = state.sentences[sent]
        votes = {"vein": 0, "artery": 0}
        for other in state.vessels:
            if other.system and state.sent_of[other.start] == sent and other.kind != "coronary":
                votes[other.system] += 1
        for word in state.lower[start:end]:
            if word in vein_words:
                votes["vein"] += 1
            elif word in artery_words:
                votes["artery"] += 1
        if votes["vein"] != votes["artery"]:
            mention.system_hint = max(votes, key=votes.__getitem__)
    state.document_system = document_system(doc, state)


def document_system(doc: Doc, state: State) -> str | None:
    """The system a note is about, when its words clearly lean one way (1.5 to 1)."""
    cue = cues()
    vein = sum(1 for word in state.lower if word in cue.system_vein_words)
    artery = sum(1 for word in state.lower if word in cue.system_artery_words)
    for mention in state.vessels:
        if mention.system == "vein":
            vein += 1
        elif mention.system == "artery":
            artery += 1
    if vein > 1.5 * artery:
        return "vein"
    if artery > 1.5 * vein:
        return "artery"
    return None


@Language.component("ivus_vessels")
def ivus_vessels(doc: Doc) -> Doc:
    """spaCy component: resolve every vessel mention's side, coordination and system."""
    state = state_of(doc)
    drop_non_vessel_heads(doc, state)
    expand_coordination(doc, state)
    resolve_sides(doc, state)
    distribute_over_lists(doc, state)
    hint_systems(doc, state)
    return doc
