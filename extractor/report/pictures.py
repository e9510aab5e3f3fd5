"""Pictures of the cohort and of one patient, as inline SVG: nothing loaded, nothing scripted.

- ``funnel``: how many patients each criterion excludes, and how many are left after
  applying the criteria in that order;
- ``grid``: patients x criteria, each cell the criterion's effect (colour, symbol and a
  tooltip), each row linking to the patient's page;
- ``timeline``: one patient's medication courses (steroids with their prednisone-equivalent
  dose) and each lab a criterion reads, plotted against the criterion's threshold.

Every text drawn is escaped; every colour is doubled by a symbol or a word.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

from extractor.report.effects import EFFECT_LABELS, EFFECT_SYMBOLS, Effect
from extractor.report.model import FactView, PatientView
from extractor.report.protocol import Threshold

COLOURS = {
    Effect.EXCLUDES: "#a51d2d",
    Effect.FAILS: "#c64600",
    Effect.PASSES: "#1d6b2b",
    Effect.TO_CHECK: "#8a6d00",
}
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
MEDICATION_WINDOW = dt.timedelta(days=730)  # courses: at most the two years before screening
LAB_WINDOW = dt.timedelta(days=365)  # labs: at most the year before (criteria read 3 to 12 months)


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg role="img" aria-label="{_t(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
        f"<title>{_t(label)}</title>{''.join(body)}</svg>"
    )


def exclusion_counts(patients: Sequence[PatientView]) -> Counter[str]:
    """Criterion id -> how many patients it puts out (an exclusion met or an inclusion not met)."""
    return Counter(c.id for p in patients for c in p.excluded_by)


def funnel(patients: Sequence[PatientView]) -> Markup:
    """Screened patients, then one bar per excluding criterion (most first) with who is left."""
    counts = exclusion_counts(patients)
    ordered = sorted(counts, key=lambda cid: (-counts[cid], cid))
    width, label_w, bar_w, row = 720, 250, 300, 24
    total = max(len(patients), 1)
    body = [
        f'<text x="0" y="16" font-weight="600">Screened: {len(patients)} patients</text>',
        f'<rect x="{label_w}" y="4" width="{bar_w}" height="16" fill="#d0d7e2"/>',
    ]
    left = {(p.patient_id, p.trial) for p in patients}
    y = row
    kinds = {c.id: c.effect for p in patients for c in p.excluded_by}
    for cid in ordered:
        out = {(p.patient_id, p.trial) for p in patients if any(c.id == cid for c in p.excluded_by)}
        left -= out
        effect, w = kinds[cid], max(2, round(bar_w * counts[cid] / total))
        word = EFFECT_LABELS[effect].lower()  # an exclusion met "excludes", an inclusion not met "fails"
        body.append(
            f'<g class="funnel-row"><title>{_t(cid)} {word} {counts[cid]} of {len(patients)}; '
            f"{len(left)} left after it</title>"
            f'<text x="0" y="{y + 13}">{_t(cid[:38])}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w}" height="12" fill="{COLOURS[effect]}"/>'
            f'<rect x="{label_w}" y="{y + 15}" width="{round(bar_w * len(left) / total)}" height="4" fill="#d0d7e2"/>'
            f'<text x="{label_w + w + 6}" y="{y + 13}">{EFFECT_SYMBOLS[effect]} {word} {counts[cid]}'
            f" \u00b7 {len(left)} left</text></g>"
        )
        y += row
    overall = Counter(p.overall for p in patients)
    body.append(
        f'<text x="0" y="{y + 14}" font-weight="600">Not excluded: {len(left)} '
        f"({overall['candidate']} candidate, {overall['needs_review']} need review)</text>"
    )
    return _svg(width, y + row, "Cohort funnel: patients each criterion excludes", body)


def grid(patients: Sequence[PatientView], href: Callable[[PatientView], str]) -> Markup:
    """Patients (rows, each linking to its page) x criteria (columns), each cell the criterion's effect.

    Cells are styled by class (``report.css``), so a page of 100 patients x 40 criteria
    stays a few hundred kilobytes; each cell's tooltip names patient, criterion and effect.
    """
    columns: list[str] = list(dict.fromkeys(c.id for p in patients for c in p.criteria))
    cell, label_w, head = 16, 110, 130
    width, height = label_w + cell * len(columns) + 90, head + cell * len(patients) + 6
    body = []
    for i, cid in enumerate(columns):
        x = label_w + i * cell + 11
        body.append(f'<text transform="translate({x},{head - 4}) rotate(-60)" font-size="10">{_t(cid[:24])}</text>')
    for r, p in enumerate(patients):
        y = head + r * cell
        label = f'<text x="0" y="{y + 12}" font-size="11">{_t(p.patient_id[:16])}</text>'
        body.append(f'<a href="{_t(href(p))}">{label}</a>')
        by_id = {c.id: c for c in p.criteria}
        for i, cid in enumerate(columns):
            c = by_id.get(cid)
            if c is None:
                continue
            e, x = c.effect.value, label_w + i * cell
            body.append(
                f'<rect x="{x}" y="{y}" class="g-{e}"><title>{_t(p.patient_id)} \u00b7 {_t(cid)}: '
                f'{EFFECT_LABELS[c.effect].lower()}</title></rect><text x="{x + 7.5}" y="{y + 11.5}" '
                f'class="g-{e}">{EFFECT_SYMBOLS[c.effect]}</text>'
            )
    return _svg(width, height, "Patients by criteria, coloured by effect", body)


class _Scale:
    """Days to x positions across the drawing."""

    def __init__(self, days: Sequence[dt.date], left: int, right: int) -> None:
        self.first, last = min(days), max(days)
        self.span = max((last - self.first).days, 1)
        self.left, self.right = left, right

    def x(self, day: dt.date) -> float:
        return round(self.left + (self.right - self.left) * (day - self.first).days / self.span, 1)

    def ticks(self, count: int = 5) -> list[dt.date]:
        return [self.first + dt.timedelta(days=round(self.span * i / (count - 1))) for i in range(count)]


def _courses(facts: Sequence[FactView]) -> dict[str, list[FactView]]:
    """Affirmed, dated medication mentions of the patient, by ingredient."""
    found: dict[str, list[FactView]] = {}
    for f in facts:
        if f.kind == "medication" and f.counts and f.day is not None:
            found.setdefault(f.ingredient or f.concept, []).append(f)
    return found


def _lab_points(facts: Sequence[FactView], threshold: Threshold) -> list[FactView]:
    return sorted(
        (f for f in facts if f.concept == threshold.concept and f.counts and f.day and f.lab_value is not None),
        key=lambda f: f.day or dt.date.min,
    )


def timeline(p: PatientView) -> Markup:
    """Medication courses and thresholded labs of one patient over time; empty when nothing is dated.

    Each block has its own time axis, ending at the screening date (or the last date):
    medications over at most ``MEDICATION_WINDOW``, labs over at most ``LAB_WINDOW``, so
    years of treatment history do not squeeze the labs of the last weeks into a line.
    """
    courses = _courses(p.facts)
    seen: set[str] = set()
    labs = []
    for t in p.thresholds:
        points = _lab_points(p.facts, t)
        if points and t.concept not in seen:
            seen.add(t.concept)
            labs.append((t, points))
    screening = _screening_day(p.screening_date)
    med_days = [d for fs in courses.values() for f in fs for d in (f.day, f.start, f.stop) if d]
    lab_days = [f.day for _, pts in labs for f in pts if f.day]
    if not med_days and not lab_days:
        return Markup("")
    width, left, lane, lab_h = 760, 200, 24, 56
    body: list[str] = []
    y = 8
    if med_days:
        scale = _Scale(_window([*med_days, *([screening] if screening else [])], MEDICATION_WINDOW), left, width - 90)
        top = y
        body.append(f'<text x="0" y="{y + 12}" font-weight="600">Medications</text>')
        y += lane
        for name, mentions in sorted(courses.items()):
            y = _course(body, scale, y, name, mentions) + lane
        y = _axis_and_screening(body, scale, top, y, screening) + 12
    if lab_days:
        scale = _Scale(_window([*lab_days, *([screening] if screening else [])], LAB_WINDOW), left, width - 90)
        top = y
        body.append(f'<text x="0" y="{y + 12}" font-weight="600">Labs read by criteria</text>')
        y += lane
        for threshold, points in labs:
            shown = [f for f in points if f.day and f.day >= scale.first]
            if not shown:
                continue  # every value predates the window
            _lab(body, scale, y, lab_h, threshold, shown, len(points) - len(shown))
            y += lab_h + 12
        y = _axis_and_screening(body, scale, top, y, screening)
    return _svg(width, y + 4, f"Timeline of patient {p.patient_id}: medications and labs", body)


def _window(days: Sequence[dt.date], length: dt.timedelta) -> list[dt.date]:
    """The first and last day to draw: at most ``length`` back from the last."""
    last = max(days)
    return [max(min(days), last - length), last]


def _axis_and_screening(body: list[str], scale: _Scale, top: int, y: int, screening: dt.date | None) -> int:
    """A block's date axis at ``y``, and the screening date as a dashed line over the block; returns the new y."""
    body.extend(_axis(scale, y))
    if screening:
        x = scale.x(screening)
        body.append(
            f'<line x1="{x}" y1="{top}" x2="{x}" y2="{y}" stroke="#1a5fb4" stroke-dasharray="4 3"/>'
            f'<text x="{x - 3}" y="{top + 12}" fill="#1a5fb4" font-size="11" text-anchor="end">'
            f"screening {screening.isoformat()}</text>"
        )
    return y + 24


def _screening_day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _course(body: list[str], scale: _Scale, y: int, name: str, mentions: Sequence[FactView]) -> int:
    """One ingredient's lane: the span from its first start to its last mention or stop, dots per mention.

    A course that began before the drawing's window starts at its left edge, its label
    saying since when; mentions before the window are not drawn.
    """
    first = min(d for f in mentions for d in (f.start, f.day) if d)
    last = max(d for f in mentions for d in (f.stop, f.day) if d)
    steroid = any(f.prednisone_mg_day is not None for f in mentions)
    label = f"{name} (prednisone-eq.)" if steroid else name
    clipped = first < scale.first
    x1, x2 = scale.x(max(first, scale.first)), scale.x(max(last, scale.first))
    body.append(
        f"<g><title>{_t(name)}: {first.isoformat()} to {last.isoformat()}, {len(mentions)} mentions</title>"
        f'<text x="0" y="{y + 12}">{_t(label[:30])}</text>'
        + (
            f'<text x="{scale.left + 2}" y="{y + 1}" font-size="9" fill="#555">\u2190 since {first.isoformat()}</text>'
            if clipped
            else ""
        )
        + f'<rect x="{x1}" y="{y + 3}" width="{max(x2 - x1, 3)}" height="10" rx="3" fill="#b9cde8"/></g>'
    )
    mentions = [f for f in mentions if f.day is None or f.day >= scale.first]
    shown: float | None = None
    labelled = 0
    for f in sorted(mentions, key=lambda m: m.day or first):
        x = scale.x(f.day) if f.day else x1
        dose = f"{f.prednisone_mg_day:g} mg/d" if f.prednisone_mg_day is not None else ""
        label = ""
        if dose and f.prednisone_mg_day != shown:  # a dose is written where it changes, not at every mention
            label_y = y + 22 if labelled % 2 == 0 else y - 1  # alternate below and above: close labels stay legible
            label = f'<text x="{x + 5}" y="{label_y}" font-size="10">{_t(dose)}</text>'
            shown, labelled = f.prednisone_mg_day, labelled + 1
        body.append(
            f"<g><title>{_t(f.label)} {f.day} {_t(dose)}: {_t('; '.join(f.details))}</title>"
            f'<circle cx="{x}" cy="{y + 8}" r="4" fill="#1a5fb4"/>{label}</g>'
        )
    return y + (12 if steroid else 0)


def _lab(
    body: list[str], scale: _Scale, y: int, height: int, t: Threshold, points: Sequence[FactView], older: int
) -> None:
    """One lab's values as dots over time, with its criterion's threshold as a dashed line when comparable;
    ``older`` values fell before the drawing's window and are only counted."""
    unit = next((f.lab_unit for f in reversed(points)), "")
    comparable = t.value is not None and (not t.unit or t.unit == unit)
    values = [f.lab_value for f in points if f.lab_value is not None]
    if comparable and t.value is not None:
        values.append(t.value)  # the threshold is always inside the drawing
    if not values:
        return
    low, high = min(values), max(values)
    pad = (high - low) * 0.15 or abs(high) * 0.2 or 1.0
    low, high = low - pad, high + pad

    def yv(value: float) -> float:
        return round(y + height - (value - low) / (high - low) * height, 1)

    rule = f"{t.criterion}: {t.compare}" + ("" if comparable else " (no line)")
    if older:
        rule += f"; {older} older"
    body.append(
        f'<text x="0" y="{y + 14}">{_t(t.concept[:28])} ({_t(unit or "no unit")})</text>'
        f'<text x="0" y="{y + 30}" font-size="10" fill="#555">{_t(rule[:40])}</text>'
        f'<rect x="{scale.left}" y="{y}" width="{scale.right - scale.left}" height="{height}" fill="#f7f7f7"/>'
    )
    if comparable and t.value is not None:
        ty = yv(t.value)
        body.append(
            f'<line x1="{scale.left}" y1="{ty}" x2="{scale.right}" y2="{ty}" stroke="#555" stroke-dasharray="5 3"/>'
            f'<text x="{scale.left + 4}" y="{ty - 3}" font-size="10">{_t(t.compare)}</text>'
        )
    for f in points:
        value = f.lab_value if f.lab_value is not None else 0.0
        verdict = t.passes(value) if comparable else None
        colour = "#555" if verdict is None else COLOURS[Effect.PASSES if verdict else Effect.FAILS]
        word = "" if verdict is None else (" meets" if verdict else " misses")
        x, vy = scale.x(f.day) if f.day else scale.left, yv(value)
        shape = (
            f'<circle cx="{x}" cy="{vy}" r="4" fill="{colour}"/>'
            if verdict is not False
            else f'<rect x="{x - 4}" y="{vy - 4}" width="8" height="8" fill="{colour}"/>'
        )
        body.append(
            f"<g><title>{_t(f.label)} {f.day}: {value:.4g} {_t(unit)}{word} {_t(t.compare)}</title>{shape}"
            f'<text x="{x + 6}" y="{vy - 5}" font-size="10">{value:.4g}</text></g>'
        )


def _axis(scale: _Scale, y: int) -> list[str]:
    out = [f'<line x1="{scale.left}" y1="{y}" x2="{scale.right}" y2="{y}" stroke="#333"/>']
    for day in scale.ticks():
        x = scale.x(day)
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 4}" stroke="#333"/>'
            f'<text x="{x}" y="{y + 16}" font-size="10" text-anchor="middle">{day.isoformat()}</text>'
        )
    return out
