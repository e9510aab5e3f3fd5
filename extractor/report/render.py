"""Rendering report pages with Jinja2: the single-file report, the archive, and the review app's pages.

Styles and script are inlined into every page, so a page opens offline and loads nothing
else. The script is allowed by its SHA-256 hash in the Content-Security-Policy, never by
``'unsafe-inline'``, so a script smuggled into a note (escaped anyway) could not run.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import shutil
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files
from math import ceil
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from extractor.report import pictures
from extractor.report.effects import EFFECT_LABELS, EFFECT_ORDER, EFFECT_SYMBOLS, Effect
from extractor.report.model import OVERALL_LABELS, STATUS_LABELS, CriterionView, PatientView
from extractor.report.reviews import CRITERION_STATUSES, FACT_ASSERTIONS

TITLE = "Trial pre-screening review"
OVERALL_SYMBOLS = {"ineligible": "\u2298", "candidate": "\u2714", "needs_review": "?"}
PAGE_SIZE = 50  # patients per list page of an archive (its grid stays a few hundred KB)


def _static(name: str) -> str:
    return (files("extractor.report") / "static").joinpath(name).read_text(encoding="utf-8")


@cache
def script_hash() -> str:
    """The CSP source that allows exactly the report's inline script."""
    digest = hashlib.sha256(_static("report.js").encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(app: bool = False, header: bool = False) -> str:
    """The page's CSP: nothing from elsewhere, the one hashed script, forms only to this origin.

    The app adds ``connect-src 'self'`` (decisions are saved without a page load); its
    response header adds ``frame-ancestors 'none'``, which a ``<meta>`` policy cannot carry.
    """
    policy = [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        f"script-src {script_hash()}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'self'",
    ]
    if app:
        policy.append("connect-src 'self'")
    if header:
        policy.append("frame-ancestors 'none'")
    return "; ".join(policy)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("extractor.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        css=Markup(_static("report.css")),
        js=Markup(_static("report.js")),
        csp=content_security_policy(),
        title=TITLE,
        status_labels=STATUS_LABELS,
        effect_labels=EFFECT_LABELS,
        effect_symbols=EFFECT_SYMBOLS,
        effect_order=sorted(Effect, key=EFFECT_ORDER.__getitem__),
        effects=Effect,
        overall_labels=OVERALL_LABELS,
        overall_symbols=OVERALL_SYMBOLS,
        criterion_statuses=CRITERION_STATUSES,
        fact_assertions=FACT_ASSERTIONS,
        review=False,
        single=False,
        reviewer=None,
        decisions={},
        signed=set(),
        timeline_svg=None,
        funnel_svg=None,
        grid_svg=None,
        pager=None,
        page_count=None,
        prev_href=None,
        next_href=None,
        csrf="",
        errors={},
        accounts_exist=False,
        failed=False,
    )
    return env


def render(template: str, **context: Any) -> str:
    """One page from ``templates/``."""
    return environment().get_template(template).render(**context)


def _generated() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def static_report(patients: Sequence[PatientView]) -> str:
    """The whole report as one HTML document: cohort pictures, patient list and every patient's page."""
    return render(
        "report.html.j2",
        patients=patients,
        patient_href=lambda p: f"#{p.anchor}",
        criterion_href=lambda p, c: f"#{c.anchor}",
        list_href="#patients",
        funnel_svg=pictures.funnel(patients),
        grid_svg=pictures.grid(patients, lambda p: f"#{p.anchor}"),
        timelines=[pictures.timeline(p) for p in patients],
        generated=_generated(),
    )


def _list_name(number: int) -> str:
    return "index.html" if number == 1 else f"list-{number}.html"


def _pager(number: int, count: int) -> Markup:
    links = [
        f'<a href="{_list_name(n)}"{" aria-current=page" if n == number else ""}>{n}</a>' for n in range(1, count + 1)
    ]
    return Markup(f'<nav class="pager noprint" aria-label="List pages">Pages: {" ".join(links)}</nav>')


def write_archive(patients: Sequence[PatientView], out_dir: Path, page_size: int = PAGE_SIZE) -> int:
    """An index with the cohort funnel, list pages of ``page_size`` patients each, and one page
    per patient under ``patients/`` named by patient and trial id. Returns how many files it wrote."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = out_dir / "patients"
    if pages.exists():
        shutil.rmtree(pages)  # a rebuild leaves no page of a patient no longer in the set
    pages.mkdir()
    for stale in out_dir.glob("list-*.html"):  # nor a list page past the new last one
        stale.unlink()
    count = max(1, ceil(len(patients) / page_size))
    generated = _generated()
    for number in range(1, count + 1):
        chunk = patients[(number - 1) * page_size : number * page_size]
        html = render(
            "archive_index.html.j2",
            patients=chunk,
            total=len(patients),
            page_number=number,
            page_count=count,
            pager=_pager(number, count) if count > 1 else None,
            patient_href=lambda p: f"patients/{p.file_name}",
            criterion_href=_in_page("patients/"),
            funnel_svg=pictures.funnel(patients) if number == 1 else None,
            grid_svg=pictures.grid(chunk, lambda p: f"patients/{p.file_name}"),
            generated=generated,
        )
        (out_dir / _list_name(number)).write_text(html, encoding="utf-8")
    for i, p in enumerate(patients):
        html = render(
            "archive_patient.html.j2",
            p=p,
            single=True,
            patient_href=lambda q: q.file_name,
            criterion_href=_in_page(""),
            list_href=f"../{_list_name(i // page_size + 1)}#patients",
            prev_href=patients[i - 1].file_name if i > 0 else None,
            next_href=patients[i + 1].file_name if i + 1 < len(patients) else None,
            timeline_svg=pictures.timeline(p),
        )
        (pages / p.file_name).write_text(html, encoding="utf-8")
    return count + len(patients)


def _in_page(prefix: str) -> Callable[[PatientView, CriterionView], str]:
    return lambda p, c: f"{prefix}{p.file_name}#{c.anchor}"
