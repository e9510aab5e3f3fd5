"""Cutting an archive into shards that workers read themselves, and reading one shard.

The main process of a sharded run never reads a note: it cuts the input by position
(a JSON Lines file into byte ranges that start at a line, a Parquet file into runs of
row groups) and each worker reads its own range. A JSON Lines cut needs one short read
per shard (to find the next line start after each cut), not a pass over the file.

Lines are numbered within their shard (``rel_line``, from 0, and so are the ``line N:``
of error messages); a shard's commit record gives how many lines it held, and the
absolute line of each note and message is counted from those once every shard is in
(``extractor.batch.views``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec

from extractor.errors import Errors
from extractor.notes import Note, ReadReport, _iso_dates, note_from_record

SEEK_READ = 1 << 16  # bytes read after a cut to find the next line start
TAIL_SHARDS = 2  # the end of the input, in shards of full size, cut into quarter shards


@dataclass(frozen=True)
class Shard:
    """A slice of the input: bytes ``[start, end)`` of a JSON Lines file, or row groups
    ``[start, end)`` of a Parquet file."""

    number: int
    source: str  # path or URL every worker can open
    kind: str  # "jsonl", "csv", "parquet", or "manifest" (``source`` is a directory's manifest.jsonl)
    start: int
    end: int


NOT_SHARDABLE = (
    "a sharded run (--run-dir) reads JSON Lines, CSV, Parquet, or a directory of .txt files with a "
    "manifest.jsonl, by position: convert a manifest.csv to JSON Lines first, or use --store"
)
CSV_BLOCK = 1 << 20  # bytes read at a time while a CSV's cuts are found


def input_kind(source: str) -> tuple[str, str]:
    """What a sharded run reads by position, and the file it cuts: ``("parquet", source)``,
    ``("jsonl", source)`` or ``("manifest", source/manifest.jsonl)``. Raises ValueError otherwise."""
    fs, path = fsspec.core.url_to_fs(source)
    if fs.isdir(path):
        manifest = source.rstrip("/") + "/manifest.jsonl"
        if not fs.exists(path.rstrip("/") + "/manifest.jsonl"):
            raise ValueError(NOT_SHARDABLE)
        return "manifest", manifest
    lowered = source.lower()
    if lowered.endswith((".parquet", ".pq")):
        return "parquet", source
    if lowered.endswith(".csv"):
        _csv_header(source)  # refused here, before the run starts, when a column is missing
        return "csv", source
    if lowered.endswith(".txt"):
        raise ValueError(NOT_SHARDABLE)
    return "jsonl", source


def plan(source: str, shard_bytes: int) -> tuple[list[Shard], int]:
    """The shards of ``source`` (about ``shard_bytes`` each) and its size (bytes, or rows of Parquet)."""
    kind, source = input_kind(source)
    if kind == "parquet":
        return _plan_parquet(source, shard_bytes)
    if kind == "csv":
        return _plan_csv(source, shard_bytes)
    fs, path = fsspec.core.url_to_fs(source)
    size = fs.size(path)
    cuts = [0]
    with fs.open(path, "rb") as handle:
        target = shard_bytes
        while target < size:
            handle.seek(target - 1)
            found = -1
            position = target - 1
            while found < 0 and position < size:
                block = handle.read(SEEK_READ)
                found = block.find(b"\n")
                if found < 0:
                    position += len(block)
            if found < 0:
                break
            cut = position + found + 1
            if cut >= size:
                break
            cuts.append(cut)
            step = _tail_step(cut, size, shard_bytes)
            target = max(cut + step, target + step)
    cuts.append(size)
    shards = [Shard(i, source, kind, a, b) for i, (a, b) in enumerate(itertools.pairwise(cuts)) if b > a]
    return shards, size


def _tail_step(cut: int, size: int, shard_bytes: int) -> int:
    """The next shard's size after a cut at ``cut``: the input's last ``TAIL_SHARDS`` shards'
    worth is cut in quarters (tasks run in input order, so the last round is short and workers
    finish together)."""
    return shard_bytes if cut < size - TAIL_SHARDS * shard_bytes else max(shard_bytes // 4, 1)


def _plan_csv(source: str, shard_bytes: int) -> tuple[list[Shard], int]:
    """A CSV cut at line ends outside quoted cells (a quoted note may span lines), so every
    shard starts at a row. A line end is outside quotes when the quote characters before it
    are even in number (a quote inside a quoted cell is doubled), so this is one pass over
    the file's bytes, counting quotes: no row is parsed."""
    fs, path = fsspec.core.url_to_fs(source)
    size = fs.size(path)
    cuts = [0]
    target, inside, offset = shard_bytes, False, 0
    with fs.open(path, "rb") as handle:
        while block := handle.read(CSV_BLOCK):
            position = 0
            while offset + len(block) > target >= offset and target < size:
                start = max(target - offset, position)
                inside ^= bool(block.count(b'"', position, start) & 1)
                position = start
                newline = block.find(b"\n", position)
                while newline >= 0:
                    inside ^= bool(block.count(b'"', position, newline) & 1)
                    position = newline + 1
                    if not inside:
                        break
                    newline = block.find(b"\n", position)
                if newline < 0:  # no line end outside quotes in this block: look on in the next
                    target = offset + len(block)
                    break
                cut = offset + position
                if cut >= size:
                    break
                cuts.append(cut)
                target = max(cut + _tail_step(cut, size, shard_bytes), target + 1)
            inside ^= bool(block.count(b'"', position) & 1)
            offset += len(block)
    cuts.append(size)
    shards = [Shard(i, source, "csv", a, b) for i, (a, b) in enumerate(itertools.pairwise(cuts)) if b > a]
    return shards, size


def _csv_header(source: str) -> list[str]:
    """The CSV's column names (its first row); ValueError when a CONTRACT column is missing."""
    from extractor.notes import REQUIRED, csv_reader

    with fsspec.open(source, "rb") as handle:
        header = [name.strip().lstrip("\ufeff") for name in next(csv_reader(_lines(handle, 0, None)), [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ValueError(f"{source.rsplit('/', 1)[-1]}: the header has no column {', '.join(missing)}")
    return header


def _lines(handle: Any, start: int, end: int | None, counted: list[int] | None = None) -> Iterator[str]:
    """The lines of bytes ``[start, end)`` of ``handle``, decoded (undecodable bytes kept as
    surrogates, so their row is rejected); ``counted`` gets how many were read."""
    handle.seek(start)
    position = start
    while end is None or position < end:
        raw = handle.readline()
        if not raw:
            break
        position += len(raw)
        if counted is not None:
            counted[0] += 1
        yield raw.decode("utf-8", errors="surrogateescape")


def _read_csv(shard: Shard, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """The notes of a CSV shard with the line (within the shard, from 0) each row starts on.
    The first shard holds the header row; the others read it from the file's start."""
    from extractor.notes import csv_reader, csv_rows

    header = _csv_header(shard.source)
    counted = [0]
    with fsspec.open(shard.source, "rb") as handle:
        reader = csv_reader(_lines(handle, shard.start, shard.end, counted))
        if shard.start == 0:
            next(reader, None)
        for line, record in csv_rows(reader, header, report, first=0):
            note = note_from_record(record, line, report)
            if note is not None:
                yield line, note
    report.size = counted[0]


def _plan_parquet(source: str, shard_bytes: int) -> tuple[list[Shard], int]:
    import pyarrow.parquet as pq

    with fsspec.open(source, "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
    shards: list[Shard] = []
    start, size = 0, 0
    for group in range(metadata.num_row_groups):
        size += metadata.row_group(group).total_byte_size
        if size >= shard_bytes or group == metadata.num_row_groups - 1:
            shards.append(Shard(len(shards), source, "parquet", start, group + 1))
            start, size = group + 1, 0
    return shards, metadata.num_rows


def read_shard(shard: Shard, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """The valid notes of a shard with their line (row) within it, from 0; faults go to
    ``report`` with the same numbering. ``report.read`` counts records, ``report.size`` lines."""
    if shard.kind == "parquet":
        yield from _read_parquet(shard, report)
        return
    if shard.kind == "csv":
        yield from _read_csv(shard, report)
        return
    for line, record in _jsonl_range(shard, report):
        if shard.kind == "manifest":
            record = _with_text(shard, line, record, report)
            if record is None:
                continue
        note = note_from_record(record, line, report)
        if note is not None:
            yield line, note


def _with_text(shard: Shard, line: int, record: object, report: ReadReport) -> dict[str, object] | None:
    """A manifest record with its file's text (decoded UTF-8, exactly), or None (recorded in ``report``)."""
    name = record.get("file") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name:
        report.rejected.append((line, Errors.E011.format(line=line, field="file")))
        return None
    directory = shard.source.rsplit("/", 1)[0]
    try:
        with fsspec.open(f"{directory}/{name}", "rb") as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.rejected.append((line, Errors.E021.format(line=line, file=name, problem=type(exc).__name__)))
        return None
    return {**record, "text": text}


def _jsonl_range(shard: Shard, report: ReadReport) -> Iterator[tuple[int, object]]:
    """The decoded JSON values of a shard's byte range with their line within it; undecodable lines go to ``report``."""
    import json

    with fsspec.open(shard.source, "rb") as handle:
        handle.seek(shard.start)
        position = shard.start
        line = -1
        while position < shard.end:
            raw = handle.readline()
            if not raw:
                break
            position += len(raw)
            line += 1
            if not raw.strip():
                continue
            report.read += 1
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                report.rejected.append((line, Errors.E010.format(line=line, problem=type(exc).__name__)))
                continue
            yield line, record
    report.size = line + 1


def _read_parquet(shard: Shard, report: ReadReport) -> Iterator[tuple[int, Note]]:
    import pyarrow.parquet as pq

    with fsspec.open(shard.source, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        row = -1
        for batch in parquet.iter_batches(batch_size=1024, row_groups=range(shard.start, shard.end)):
            for record in batch.to_pylist():
                row += 1
                report.read += 1
                note = note_from_record(_iso_dates(record), row, report)
                if note is not None:
                    yield row, note
    report.size = row + 1
