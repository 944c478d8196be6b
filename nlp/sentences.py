"""Sentence splitting fitted to dictated operative reports.

Rules (in order), over tokens:
1. a blank line, or a line that starts with a list marker ("1.", "2)", "-", "•") or a heading
   ("FINDINGS:", an all-caps line), starts a sentence;
2. any other line break starts a sentence unless the line before ends without terminal
   punctuation and the next line starts in lower case (a wrapped line);
3. ".", "!" and "?" end a sentence before a word or a number (lower-case dictation included),
   except after abbreviations dictation writes with a period ("Dr.", "Lt.", "approx.", "No. 5";
   one that is also a word, "post.", ends the sentence before a capitalised word),
   single capitals ("R. CIV") and the number of a list item ("1.").
Semicolons do not split sentences (the linker treats them as clause breaks).

Compared in ``bench/sentences.py`` with PyRuSH and spaCy's sentencizer on the corpus.
"""

from __future__ import annotations

import re

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

ABBREVIATIONS = frozenset(
    "dr mr mrs ms st no nos vs approx appr etc fig lt rt l r bilat pt pts inc co ref resp est "
    "jr sr cf al ant post sup inf prox dist med lat dept univ wt ht temp vol".split()
)
WORD_ABBREVIATIONS = frozenset("no co post sup inf med lat dist temp vol est ant".split())
"""Abbreviations that are also words: a period after one ends the sentence before a
capitalised word ("IVUS was done pre and post. The celiac ...")."""
WRAPPED_LINE = re.compile(r"(?<=[A-Za-z0-9,;(/\-])(\r?\n)(?=[ \t]*[a-z])")


def unwrap_lines(text: str) -> str:
    """Replace a line break inside a sentence (the line goes on in lower case) with spaces of
    the same length, so "intravascular\nultrasound" matches as one phrase and every character
    offset stays the same."""
    return WRAPPED_LINE.sub(lambda m: " " * len(m.group(1)), text)


LIST_MARKER = re.compile(r"^(?:\d{1,2}[.)]|[a-hA-H][.)]|[-•*·▪–—]|\(\d{1,2}\)|#\d{1,2})$")
TERMINAL = frozenset({".", "!", "?"})


def _is_newline(text: str) -> bool:
    return "\n" in text and text.isspace()


def _heading_from(texts: list[str], start: int, whole_line: bool = False) -> bool:
    """An all-caps run of words from ``start`` followed by ':' (anything after it unless
    ``whole_line``) or by the end of the line."""
    words = 0
    i = start
    n = len(texts)
    while i < n and not _is_newline(texts[i]):
        text = texts[i]
        if text in (":", "-", "—") and words:
            return not whole_line or i + 1 >= n or _is_newline(texts[i + 1])
        if text.isalpha():
            if not text.isupper():
                return False
            words += 1
            if words > 8:
                return False
        i += 1
    return words > 0


def _line_start_of(texts: list[str], i: int) -> int:
    while i > 0 and not _is_newline(texts[i - 1]):
        i -= 1
    return i


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def _ends_sentence(texts: list[str], prev: int, nxt: str, line_first: list[bool]) -> bool:
    mark = texts[prev]
    if mark not in TERMINAL or not (nxt[:1].isalnum() or nxt[:1] in "(\"'"):
        return False
    if mark == "." and prev > 0:
        before = texts[prev - 1]
        if before.lower() in ABBREVIATIONS:
            return before.lower() in WORD_ABBREVIATIONS and nxt.istitle() and len(nxt) > 1
        if _is_number(before) and line_first[prev - 1]:
            return False  # the number of a list item
        if len(before) == 1 and before.isalpha() and before.isupper():
            return False  # initials and single-letter sides ("R. CIV")
    return True


def sentence_starts(texts: list[str]) -> list[bool]:
    """Whether each token (given by its text) starts a sentence (rules in the module docstring)."""
    n = len(texts)
    starts = [False] * n
    line_first = [False] * n
    at_line_start = True
    for i, text in enumerate(texts):
        if text.isspace():
            at_line_start = at_line_start or "\n" in text
            continue
        line_first[i] = at_line_start
        at_line_start = False
    previous = -1
    blank_before = newline_before = False
    for i, text in enumerate(texts):
        if text.isspace():
            if "\n" in text:
                newline_before = True
                blank_before = blank_before or text.count("\n") >= 2
            continue
        start = i == 0 or previous < 0
        if not start and line_first[i] and newline_before:
            prev = texts[previous]
            start = (
                blank_before
                or LIST_MARKER.match(text) is not None
                or _heading_from(texts, i)
                or prev in TERMINAL
                or prev in (":", ";")
                or _heading_from(texts, _line_start_of(texts, previous), whole_line=True)
                or not text[:1].islower()
            )
        elif not start:
            start = _ends_sentence(texts, previous, text, line_first)
        starts[i] = start
        previous = i
        blank_before = newline_before = False
    if n:
        starts[0] = True
    return starts


def split_sentences(doc: Doc) -> Doc:
    """Set the sentence starts of ``doc`` in one array write."""
    if not len(doc):
        return doc
    starts = sentence_starts([t.text for t in doc])
    values = (
        numpy.array([1 if s else -1 for s in starts], dtype="int64").reshape(-1, 1).view("uint64")
    )
    doc.from_array([SENT_START], values)
    return doc


@Language.component("ivus_sentences")
def ivus_sentences(doc: Doc) -> Doc:
    """spaCy component wrapping :func:`split_sentences`."""
    return split_sentences(doc)
