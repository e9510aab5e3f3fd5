"""Inline SVG pictures, the --out-dir archive, reviewer accounts and the review command's guards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_material import FACTS, NOTES, VERDICTS
from typer.testing import CliRunner

from extractor.cli.app import app
from extractor.cli.review import is_loopback
from extractor.report import accounts
from extractor.report.model import Material, PatientView, build_views
from extractor.report.pictures import funnel, grid, timeline
from extractor.store import Store

runner = CliRunner()


@pytest.fixture
def views() -> list[PatientView]:
    material = Material(list(VERDICTS), {}, {})
    for note in NOTES:
        material.notes.setdefault(note["patient_id"], []).append(note)
    for fact in FACTS:
        material.facts.setdefault(fact["patient_id"], []).append(fact)
    return build_views(material)


def test_the_funnel_counts_what_each_criterion_excludes(views: list[PatientView]) -> None:
    svg = str(funnel(views))
    assert svg.startswith('<svg role="img"')
    assert "Screened: 2 patients" in svg
    assert "exc-tuberculosis excludes 1 of 2; 1 left after it" in svg
    assert "Not excluded: 1 (1 candidate, 0 need review)" in svg


def test_the_grid_has_a_cell_per_patient_and_criterion(views: list[PatientView]) -> None:
    svg = str(grid(views, lambda p: f"#{p.anchor}"))
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" class="g-(\w+)"><title>([^<]+)</title></rect>', svg)
    assert len(cells) == 2 * 4
    assert ("excludes", "P001 \u00b7 exc-tuberculosis: excludes") in cells
    assert ("to_check", "P001 \u00b7 exc-cns-lupus: to check") in cells
    assert 'href="#p-P002--blinatumomab-sle"' in svg


def test_the_timeline_draws_steroid_doses_and_labs_against_thresholds(views: list[PatientView]) -> None:
    svg = str(timeline(views[0]))
    assert "prednisone (prednisone-eq.)" in svg
    assert ">10 mg/d</text>" in svg
    assert ">20 mg/d</text>" in svg
    assert "inc-hemoglobin: &gt;= 80 g/L" in svg  # the criterion's threshold, drawn as a dashed line
    assert "96 g/L meets &gt;= 80 g/L" in svg
    assert "74 g/L misses &gt;= 80 g/L" in svg
    assert "screening 2025-03-01" in svg
    assert str(timeline(views[1])) == ""  # nothing dated to draw


def test_an_archive_has_an_index_paged_lists_and_a_page_per_patient(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "archive"
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "--facts", str(files["facts"])]
    result = runner.invoke(app, [*args, "--out-dir", str(out), "--page-size", "1"])
    assert result.exit_code == 0, result.output
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))
    assert names == [
        "index.html",
        "list-2.html",
        "patients/p-P001--blinatumomab-sle.html",
        "patients/p-P002--blinatumomab-sle.html",
    ]
    index = (out / "index.html").read_text()
    assert "Cohort funnel" in index
    assert 'href="patients/p-P001--blinatumomab-sle.html"' in index
    assert 'href="list-2.html"' in index
    page = (out / "patients/p-P001--blinatumomab-sle.html").read_text()
    assert page.count('class="patient current"') == 1  # one patient, printable alone
    assert 'href="p-P002--blinatumomab-sle.html"' in page  # next patient
    assert "Excluded by:" in page
    assert "http://" not in page
    rebuilt = tmp_path / "again"
    runner.invoke(app, [*args, "--out-dir", str(rebuilt), "--page-size", "1"])
    runner.invoke(app, [*args, "--out-dir", str(out)])  # rebuilt in place with one list page
    assert sorted(p.name for p in out.glob("*.html")) == ["index.html"]
    strip = re.compile(r"Generated [^.]+\.")
    assert strip.sub("", (rebuilt / "index.html").read_text()) == strip.sub("", index)  # links survive a rebuild


def test_accounts_keep_only_a_hash_and_verify_passwords(store_path: Path) -> None:
    with Store.open(store_path) as store:
        assert not accounts.has_accounts(store)
        assert accounts.add_user(store, "Ada", "correct horse battery")
        assert not accounts.add_user(store, "Ada", "another long password")
        [(stored,)] = store.con.execute("SELECT password_hash FROM reviewers").fetchall()
        assert stored.startswith("$argon2id$")
        assert accounts.verify(store, "Ada", "another long password")
        assert not accounts.verify(store, "Ada", "correct horse battery")
        assert not accounts.verify(store, "Bob", "another long password")
        with pytest.raises(accounts.AccountError):
            accounts.add_user(store, "Bo", "short")


def test_add_user_from_the_command_line(store_path: Path) -> None:
    result = runner.invoke(
        app, ["review", "add-user", "--store", str(store_path), "Ada"], input="correct horse battery\n" * 2
    )
    assert result.exit_code == 0, result.output
    with Store.open(store_path, read_only=True) as store:
        assert accounts.verify(store, "Ada", "correct horse battery")


def test_a_public_bind_without_accounts_is_refused(store_path: Path) -> None:
    result = runner.invoke(app, ["review", "--store", str(store_path), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "without reviewer accounts" in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.4", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_funnel_says_fails_for_an_inclusion_not_met() -> None:
    failing = {**VERDICTS[1], "overall": "ineligible"}
    failing["criteria"] = [
        {**c, "status": "not_met"} if c["id"] == "inc-hemoglobin" else c for c in VERDICTS[1]["criteria"]
    ]
    svg = str(funnel(build_views(Material([VERDICTS[0], failing], {}, {}))))
    assert "exc-tuberculosis excludes 1 of 2; 1 left after it" in svg  # equal counts: by id
    assert "inc-hemoglobin fails 1 of 2; 0 left after it" in svg
    assert "Not excluded: 0 (0 candidate, 0 need review)" in svg


def test_export_reviews_waits_for_a_store_held_for_a_moment(store_path: Path, tmp_path: Path) -> None:
    import threading
    import time

    held = threading.Event()

    def hold() -> None:  # as the review app does while it saves one decision
        with Store.open(store_path):
            held.set()
            threading.Event().wait(0.4)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    result = runner.invoke(app, ["export-reviews", "--store", str(store_path), "-o", str(tmp_path / "r.jsonl")])
    waited = time.monotonic() - started
    holder.join()
    assert result.exit_code == 0, result.output
    assert waited >= 0.2  # it could not open the store at first, and waited rather than failing
    assert (tmp_path / "r.jsonl").read_text() == ""


def test_a_steroid_dose_is_written_where_it_changes(views: list[PatientView]) -> None:
    import dataclasses
    import datetime as dt

    p001 = views[0]
    [later] = [f for f in p001.facts if f.link.text == "Prednisone"]
    again = dataclasses.replace(later, day=dt.date(2025, 3, 5))  # 20 mg/d once more: no new label
    lowered = dataclasses.replace(later, day=dt.date(2025, 3, 9), prednisone_mg_day=5.0)
    notes = (*p001.notes[:-1], dataclasses.replace(p001.notes[-1], facts=(*p001.notes[-1].facts, again, lowered)))
    svg = str(timeline(dataclasses.replace(p001, notes=notes)))
    assert re.findall(r">(\d+) mg/d</text>", svg) == ["10", "20", "5"]
    assert svg.count('r="4" fill="#1a5fb4"') == 4  # every mention is a dot


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["review"], "give --store", id="no-store"),
        pytest.param(
            ["review", "add-user", "--store", "STORE", "Ada", "--password", "short"], "12 characters", id="short"
        ),
        pytest.param(
            ["review", "add-user", "--store", "STORE", "<b>", "--password", "x" * 12], "reviewer name", id="name"
        ),
    ],
)
def test_review_commands_refuse_what_they_cannot_use(args: list[str], message: str, store_path: Path) -> None:
    result = runner.invoke(app, [str(store_path) if a == "STORE" else a for a in args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_history_older_than_two_years_is_clipped_with_its_start_said(views: list[PatientView]) -> None:
    import dataclasses
    import datetime as dt

    p001 = views[0]
    first = p001.notes[0]
    old = tuple(
        dataclasses.replace(f, start=dt.date(2019, 6, 1)) if f.link.text == "prednisone" else f for f in first.facts
    )
    svg = str(timeline(dataclasses.replace(p001, notes=(dataclasses.replace(first, facts=old), *p001.notes[1:]))))
    assert "since 2019-06-01" in svg
    assert re.search(r'<text x="[\d.]+" y="[\d.]+" font-size="10" text-anchor="middle">2023-03-0\d</text>', svg)
    assert "2019-06-01 to 2025-03-01" in svg  # the tooltip keeps the whole course
