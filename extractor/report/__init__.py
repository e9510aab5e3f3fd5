"""Reviewer report and review app: verdicts, notes and facts as pages a coordinator reads.

Public API:
    write_report(patients, path)                 one self-contained HTML file (small sets)
    write_archive(patients, out_dir)             index, paged lists and one page per patient
    material_from_files(verdicts, notes, facts)  report material from JSON Lines files
    material_from_store(store)                   report material from a batch store
    build_views(material) -> list[PatientView]   what each patient's page shows
    create_app(store_path) -> Starlette          the review app (``extractor.report.app``)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from extractor.report.model import Material, PatientView, build_views, material_from_files, material_from_store
from extractor.report.render import static_report, write_archive

__all__ = [
    "Material",
    "PatientView",
    "build_views",
    "material_from_files",
    "material_from_store",
    "write_archive",
    "write_report",
]


def write_report(patients: Sequence[PatientView], path: Path) -> None:
    """Write the static report for ``patients`` to ``path``."""
    path.write_text(static_report(patients), encoding="utf-8")
