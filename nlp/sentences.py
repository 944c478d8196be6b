"""Sentence splitting fitted to dictated operative reports.

Rules (in order), over tokens:
1. a blank line, or a line that starts with a list marker ("1.", "2)", "-", "•") or a heading
   ("FINDINGS:", an all-caps line), starts a sentence;
2. any other line break starts a sentence unless the line before ends without terminal
   punctuation and the next line starts in lower case (a wrapped line);
3. ".", "!" and "?" end a sentence before a word or a number (lower-case dictation included),
   except after abbreviations dictation writes with a period ("Dr.", "Lt.", "approx.", "No."),
   single capitals ("R. CIV") and the number of a list item ("1.").
Semicolons do not split sentences (the linker treats them as clause breaks).

Compared in ``bench/sentences.py`` with PyRuSH and spaCy's sentencizer on the corpus.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

ABBREVIATIONS = frozenset(
    "dr mr mrs ms st no nos vs approx appr etc fig lt rt l r bilat pt pts inc co ref resp est "
    "jr sr cf al ant post sup inf prox dist med lat dept univ wt ht temp vol".split()
)
WRAPPED_LINE = re.compile(r"(?<=[A-Za-z0-9,;(/\-])(\r?\n)(?=[ \t]*[a-z])")


def unwrap_lines(text: str) -> str:
    """Replace a line break inside a sentence (the line goes on in lower case) with spaces of
    the same length, so "intravascular\nultrasound" matches as one phrase and every character
    offset stays the same."""
    return WRAPPED_LINE.sub(lambda m: " " * len(m.group(1)), text)


LIST_MARKER = re.compile(r"^(?:\d{1,2}[.)]|[a-hA-H][.)]|[-•*·▪–—]|\(\d{1,2}\)|#\d{1,2})$")
TERMINAL = frozenset({".", "!", "?"})


def _line_starts(doc: Doc) -> list[bool]:
    """True for each token that is the first non-space token of a line."""
    starts = [False] * len(doc)
    at_line_start = True
    for token in doc:
        if token.is_space:
            if "\n" in token.text:
                at_line_start = True
            continue
        starts[token.i] = at_line_start
        at_line_start = False
    return starts


def _is_heading_line(doc: Doc, start: int, whole_line: bool = False) -> bool:
    """An all-caps run of words followed by ':' (anything after it unless ``whole_line``) or by
    the end of the line."""
    i = start
    words = 0
    while i < len(doc) and not (doc[i].is_space and "\n" in doc[i].text):
        token = doc[i]
        if token.text in {":", "-", "—"} and words:
            if not whole_line:
                return True
            nxt = i + 1
            return nxt >= len(doc) or (doc[nxt].is_space and "\n" in doc[nxt].text)
        if token.is_alpha and not token.is_upper:
            return False
        words += token.is_alpha
        if words > 8:
            return False
        i += 1
    return words > 0


def split_sentences(doc: Doc) -> Doc:
    """Set ``is_sent_start`` on every token of ``doc`` (the rules in the module docstring)."""
    if not len(doc):
        return doc
    line_start = _line_starts(doc)
    previous_content = -1  # index of the last non-space token
    blank_before = False
    newline_before = False
    for token in doc:
        i = token.i
        if token.is_space:
            if "\n" in token.text:
                newline_before = True
                if token.text.count("\n") >= 2:
                    blank_before = True
            token.is_sent_start = i == 0
            continue
        start = i == 0
        if not start and line_start[i] and newline_before:
            prev = doc[previous_content] if previous_content >= 0 else None
            if blank_before or prev is None:
                start = True
            elif LIST_MARKER.match(token.text) or _is_heading_line(doc, i):
                start = True
            elif prev.text in TERMINAL or prev.text in {":", ";"} or _is_heading_line_end(doc, prev.i):
                start = True
            elif not token.text[:1].islower():
                start = True
        elif not start and previous_content >= 0 and _ends_sentence(doc, previous_content, token):
            start = True
        token.is_sent_start = start
        previous_content = i
        blank_before = False
        newline_before = False
    return doc


def _is_heading_line_end(doc: Doc, i: int) -> bool:
    """The line holding token ``i`` is a heading (all caps)."""
    j = i
    while j > 0 and not (doc[j - 1].is_space and "\n" in doc[j - 1].text):
        j -= 1
    return _is_heading_line(doc, j, whole_line=True)


def _ends_sentence(doc: Doc, prev_i: int, token: object) -> bool:
    prev = doc[prev_i]
    if prev.text not in TERMINAL:
        return False
    nxt = token.text  # type: ignore[attr-defined]
    if not (nxt[:1].isalpha() or nxt[:1].isdigit() or nxt[:1] in "(\"'"):
        return False
    if prev.text == "." and prev_i > 0:
        before = doc[prev_i - 1]
        if before.lower_ in ABBREVIATIONS and not prev.whitespace_ == "\n":
            return False
        if before.like_num and (prev_i - 1 == 0 or _first_on_line(doc, prev_i - 1)):
            return False
        if len(before.text) == 1 and before.is_alpha and before.is_upper:
            return False  # initials and single-letter sides ("R. CIV")
    return True


def _first_on_line(doc: Doc, i: int) -> bool:
    j = i - 1
    while j >= 0 and doc[j].is_space and "\n" not in doc[j].text:
        j -= 1
    return j < 0 or (doc[j].is_space and "\n" in doc[j].text)


@Language.component("ivus_sentences")
def ivus_sentences(doc: Doc) -> Doc:
    """spaCy component wrapping :func:`split_sentences`."""
    return split_sentences(doc)
