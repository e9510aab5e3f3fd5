"""Abbreviations a note defines ("systemic lupus erythematosus (SLE)"): scispaCy's detector
(Schwartz & Hearst 2003), with its parenthesis pattern bounded.

scispaCy matches ``( any+ )``: every "(" paired with every later ")", so a long note with
n parentheses gives about n²/2 matches, all but the short ones then thrown away (its
``filter_matches`` keeps at most 8 tokens between the brackets). Asking the matcher for
1 to 8 tokens between the brackets gives exactly the matches that are kept, in time
linear in the note. Nothing else of the detector changes.
"""

from scispacy.abbreviation import AbbreviationDetector
from spacy.language import Language
from spacy.matcher import Matcher

MAX_INSIDE = 8  # scispaCy's filter_matches drops longer parentheticals


class BoundedAbbreviationDetector(AbbreviationDetector):
    """scispaCy's ``AbbreviationDetector`` whose parenthesis pattern stops at ``MAX_INSIDE`` tokens."""

    def __init__(self, nlp: Language, name: str = "extractor_abbreviations", make_serializable: bool = False) -> None:
        super().__init__(nlp, name, make_serializable)
        self.matcher = Matcher(nlp.vocab)
        self.matcher.add("parenthesis", [[{"ORTH": "("}, {"OP": f"{{1,{MAX_INSIDE}}}"}, {"ORTH": ")"}]])


@Language.factory(
    "extractor_abbreviations",
    default_config={"make_serializable": False},
    assigns=["doc._.abbreviations", "span._.long_form"],
)
def make_abbreviations(nlp: Language, name: str, make_serializable: bool) -> "BoundedAbbreviationDetector":
    """Registered factory; ``make_serializable`` as in scispaCy (long forms as text, not Spans)."""
    return BoundedAbbreviationDetector(nlp, name, make_serializable)
