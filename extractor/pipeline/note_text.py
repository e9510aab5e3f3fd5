"""The note's text, joined from the Doc once and shared by every stage.

``Doc.text`` joins every token's text in Python on each read (about a millisecond
per 600-word note) and most stages need the text: reading it once per note and
keeping it in the Doc's user data saved a fifth of the pipeline's time. The facts
stage removes it, so it is never serialised with the Doc.
"""

from spacy.tokens import Doc

KEY = "extractor.text"


def note_text(doc: Doc) -> str:
    """``doc.text``, computed on the first call for this Doc."""
    text = doc.user_data.get(KEY)
    if text is None or len(text) != _length(doc):
        text = doc.text
        doc.user_data[KEY] = text
    return text


def _length(doc: Doc) -> int:
    if not len(doc):
        return 0
    last = doc[-1]
    return last.idx + len(last.text_with_ws)
