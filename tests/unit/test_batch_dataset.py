"""A run directory's tables: rows gathered as Arrow batches, written sorted a row group at a
time, atomically; a worker's per-task memory peak."""

from __future__ import annotations

import gc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.batch import work
from extractor.batch.dataset import Rows, RunDir
from extractor.batch.work import WorkerStats
from extractor.store import StoreError

SCHEMA = pa.schema([("bucket", pa.int16()), ("patient_id", pa.string()), ("seq", pa.int32()), ("fact", pa.string())])
ROWS = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.text(min_size=1, max_size=4).filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text)),
        st.integers(0, 5),
        st.text(max_size=8).filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text)),
    ),
    max_size=60,
    unique_by=lambda row: row[:3],
)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, chunk=st.integers(1, 7), group=st.integers(1, 9))
def test_rows_written_sorted_read_back_as_python_sorts_them(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, str, int, str]], chunk: int, group: int
) -> None:
    run = RunDir(str(tmp_path_factory.mktemp("run")))
    gathered = Rows(SCHEMA, chunk)
    gathered.extend(rows)
    assert len(gathered) == len(rows)
    run.write_table("facts/shard.parquet", gathered.table(), group, ("bucket", "patient_id", "seq"))
    assert len(gathered) == 0  # handed over
    written = pq.ParquetFile(run.path("facts/shard.parquet"))
    read = [tuple(row.values()) for row in written.read().to_pylist()]
    assert read == sorted(rows, key=lambda row: row[:3])  # code point order, as Python's
    sizes = [written.metadata.row_group(i).num_rows for i in range(written.metadata.num_row_groups)]
    assert all(size == group for size in sizes[:-1]) and sum(sizes) == len(rows)
    assert not list(Path(run.path("_tmp")).iterdir())  # written, then moved


def test_a_table_written_in_row_groups_is_in_place_only_when_whole(tmp_path: Path) -> None:
    run = RunDir(str(tmp_path))

    def dying() -> None:
        with run.table_writer("verdicts/part-0000.parquet", SCHEMA) as writer:
            writer.write_table(pa.table([[1], ["P"], [0], ["{}"]], schema=SCHEMA))
            raise RuntimeError("the task died")

    with pytest.raises(RuntimeError):
        dying()
    assert not run.exists("verdicts/part-0000.parquet")
    with run.table_writer("verdicts/part-0000.parquet", SCHEMA) as writer:
        for patient in ("A", "B"):
            writer.write_table(pa.table([[1], [patient], [0], ["{}"]], schema=SCHEMA))
    assert pq.read_table(run.path("verdicts/part-0000.parquet")).column("patient_id").to_pylist() == ["A", "B"]
    with run.table_writer("verdicts/part-0001.parquet", SCHEMA):
        pass  # a partition without a patient: a file without rows
    assert pq.read_table(run.path("verdicts/part-0001.parquet")).num_rows == 0


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        # peaked at 380 and kept 10 MB of it: the next is expected 10 MB higher
        (WorkerStats("w", 400.0, rss_mb=300.0, start_rss_mb=290.0, task_peak_mb=380.0), 390.0),
        (WorkerStats("w", 400.0, rss_mb=300.0, start_rss_mb=310.0, task_peak_mb=300.0), 300.0),  # shrank
        # a first task grows by warming up once: its growth is not expected again
        (WorkerStats("w", 400.0, rss_mb=290.0, start_rss_mb=200.0, task_peak_mb=380.0, first_task=True), 380.0),
        (WorkerStats("w", 500.0, rss_mb=300.0), 300.0),  # the task's peak not measured: its size now
    ],
)
def test_the_next_task_is_expected_to_peak_at_the_size_now_plus_the_last_tasks_rise(
    stats: WorkerStats, expected: float
) -> None:
    assert stats.next_peak_mb == expected


def _allocating_task(megabytes: int) -> WorkerStats:
    start = work.task_started()
    block = bytearray(megabytes * 2**20)
    block[:: 4096] = b"x" * len(block[:: 4096])  # touched: resident
    del block
    gc.collect()
    return work.worker_stats(start)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux: peaks reset per task")
def test_a_worker_process_reports_each_tasks_own_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work, "_worker_process", True)
    monkeypatch.setattr(work, "_earlier_peak_mb", 0.0)
    monkeypatch.setattr(work, "_tasks", 1)
    big = _allocating_task(80)
    small = _allocating_task(1)
    assert big.task_peak_mb - big.start_rss_mb >= 70
    assert small.task_peak_mb - small.start_rss_mb < 20  # the first task's peak is not the second's
    assert small.next_peak_mb < big.next_peak_mb and not big.first_task
    assert small.peak_rss_mb >= big.task_peak_mb  # the process's peak is kept for the run's report


def test_the_main_process_keeps_its_own_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work, "_worker_process", False)
    peak = _allocating_task(80).peak_rss_mb
    _allocating_task(1)
    assert work.worker_stats().peak_rss_mb >= peak  # not reset: the run reports the main process's peak


@pytest.mark.parametrize("url", ["s3://AKIAEXAMPLE:hunter2-secret@bucket/run", "gs://user:hunter2-secret@b/r"])
def test_a_url_with_a_password_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(StoreError, match="through the environment") as refused:
        RunDir(url)
    assert "hunter2" not in str(refused.value) and "AKIA" not in str(refused.value)
    assert RunDir("s3://bucket/run").url == "s3://bucket/run"  # an ordinary URL is taken as it is
