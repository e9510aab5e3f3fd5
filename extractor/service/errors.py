"""Numbered messages of the screening service: each says what went wrong and what to do.

Messages name fields, ids and limits, never note text (patient data). Every error the
service answers with has the same JSON shape (``ErrorBody``).
"""

from __future__ import annotations


class ServiceErrors:
    S001 = "[S001] {count} notes in one request; the limit is {limit}. Send the notes in smaller requests."
    S002 = (
        "[S002] The notes' text is {size} bytes (UTF-8); the limit is {limit} bytes. "
        "Send the notes in smaller requests."
    )
    S003 = "[S003] The request body is over {limit} bytes. Send the notes in smaller requests."
    S004 = "[S004] Invalid request: {fields}. Fix the named fields and send it again."
    S005 = "[S005] notes[{index}].note_id: {note_id!r} is already the id of notes[{first}]; give each note its own id."
    S006 = (
        "[S006] notes[{index}].patient_id: {found!r}, but notes[0] is for {expected!r}; "
        "/v1/screen takes one patient's notes per request."
    )
    S007 = "[S007] trial: no bundled trial {trial!r}. Bundled trials: {available}."
    S008 = "[S008] Missing or wrong bearer token. Send the header 'Authorization: Bearer <token>'."
    S009 = "[S009] Internal error ({kind}); nothing was processed. Quote request id {request_id} to the operator."
    S010 = "[S010] {status}: {detail}."
    S011 = (
        "[S011] The request ran past its {seconds:g} s deadline and was stopped; nothing was kept. "
        "Send fewer or shorter notes per request. Request id {request_id}."
    )
    S013 = "[S013] The client disconnected; its work was stopped. Request id {request_id}."
    S014 = (
        "[S014] notes[{index}].text has {length} characters; the pipeline's limit is {limit}. "
        "Split the note (one visit, one report) and send the parts."
    )
    S012 = (
        "[S012] Every pipeline was busy for the request's whole {seconds:g} s deadline. Try again later. "
        "Request id {request_id}."
    )


class ServiceError(Exception):
    """An error answered with a status code, a short code and one of the messages above."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: tuple[tuple[str, str], ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
