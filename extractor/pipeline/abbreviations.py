"""Abbreviations a note defines ("systemic lupus erythematosus (SLE)"): scispaCy's detector
(Schwartz & Hearst 2003), with its parenthesis pattern bounded and found without a Matcher.

scispaCy matches ``( any+ )``: every "(" paired with every later ")", so a long note with
n parentheses gives about n²/2 matches, all but the short ones then thrown away (its
``filter_matches`` keeps at most 8 tokens between the brackets). Pairing each ")" with the
"(" 2 to 9 tokens before it gives exactly the matches that are kept. A token ``Matcher``
with that pattern still steps through every token of the note in Python-level code (about
a sixth of the time the whole pipeline spends outside the tokenizer on a long note, profiled);
the pairs are found here from the positions of the brackets alone, in the Matcher's order.
Nothing else of the detector changes.
"""

import bisect

import numpy
from scispacy.abbreviation import AbbreviationDetector
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import StringStore
from spacy.tokens import Doc

MAX_INSIDE = 8  # scispaCy's filter_matches drops longer parentheticals


class ParenthesisPairs:
    """``( any{1,MAX_INSIDE} )`` as a Matcher would return it: ``(match_id, start, end)`` for
    every such pair, ordered by end, then by start from the nearest "(" back."""

    def __init__(self, strings: StringStore, max_inside: int = MAX_INSIDE) -> None:
        self.key = strings.add("parenthesis")
        self.open = strings.add("(")
        self.close = strings.add(")")
        self.max_inside = max_inside

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        if len(doc) < 3:
            return []
        orth = doc.to_array(ORTH)
        opens = numpy.flatnonzero(orth == self.open).tolist()
        if not opens:
            return []
        matches = []
        for close in numpy.flatnonzero(orth == self.close).tolist():
            first = bisect.bisect_left(opens, close - 1 - self.max_inside)
            last = bisect.bisect_left(opens, close - 1)  # at least one token inside
            for index in range(last - 1, first - 1, -1):
                matches.append((self.key, opens[index], close + 1))
        return matches


class BoundedAbbreviationDetector(AbbreviationDetector):
    """scispaCy's ``AbbreviationDetector`` whose parenthesis pairs come from ``ParenthesisPairs``."""

    def __init__(self, nlp: Language, name: str = "extractor_abbreviations", make_serializable: bool = False) -> None:
        super().__init__(nlp, name, make_serializable)
        self.matcher = ParenthesisPairs(nlp.vocab.strings)


@Language.factory(
    "extractor_abbreviations",
    default_config={"make_serializable": False},
    assigns=["doc._.abbreviations", "span._.long_form"],
)
def make_abbreviations(nlp: Language, name: str, make_serializable: bool) -> "BoundedAbbreviationDetector":
    """Registered factory; ``make_serializable`` as in scispaCy (long forms as text, not Spans)."""
    return BoundedAbbreviationDetector(nlp, name, make_serializable)
