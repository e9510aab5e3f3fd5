"""Rendering report pages with Jinja2: the static report, and the review app's pages.

Styles and script are inlined into every page, so a report is one self-contained
file that opens offline, and the app's pages load nothing else either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from extractor.report.model import OVERALL_LABELS, STATUS_LABELS, STATUS_SYMBOLS, PatientView
from extractor.report.reviews import CRITERION_STATUSES, FACT_ASSERTIONS

TITLE = "Trial pre-screening review"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("extractor.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    static = files("extractor.report") / "static"
    env.globals.update(
        css=Markup(static.joinpath("report.css").read_text(encoding="utf-8")),
        js=Markup(static.joinpath("report.js").read_text(encoding="utf-8")),
        title=TITLE,
        status_labels=STATUS_LABELS,
        status_symbols=STATUS_SYMBOLS,
        overall_labels=OVERALL_LABELS,
        criterion_statuses=CRITERION_STATUSES,
        fact_assertions=FACT_ASSERTIONS,
        review=False,
        single=False,
        reviewer=None,
        decisions={},
    )
    return env


def render(template: str, **context: Any) -> str:
    """One page from ``templates/``."""
    return environment().get_template(template).render(**context)


def static_report(patients: Sequence[PatientView]) -> str:
    """The whole report as one HTML document: patient list and every patient's page."""
    return render(
        "report.html.j2",
        patients=patients,
        patient_href=lambda p: f"#{p.anchor}",
        list_href="#patients",
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
    )
