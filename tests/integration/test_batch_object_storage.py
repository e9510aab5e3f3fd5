"""A sharded run on object storage, end to end, against a local S3 endpoint (moto's server on
127.0.0.1): batches written as Parquet and committed under ``s3://bucket/run``, a stopped run
resumed without redoing committed batches, a half-written batch never read, and ``attach``,
``export`` and ``report`` reading the run. Skipped when moto or s3fs is not installed.

Credentials and the endpoint reach every process (the main one, the worker process it spawns)
the way a deployment gives them: AWS's standard environment variables."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spacy.language import Language
from test_batch_inputs import archive_records, write_jsonl
from test_batch_resume import FILLER, TRIAL, Stop, reference_run, snapshot, stopping_after
from test_batch_store import query
from typer.testing import CliRunner

from extractor.batch import ExportFormat, export_store, sharded
from extractor.batch.dataset import RunDir
from extractor.cli.app import app

moto_server = pytest.importorskip("moto.server", reason="moto (dev extra) serves the local S3 endpoint")
s3fs = pytest.importorskip("s3fs", reason="s3fs (dev extra) is fsspec's S3 filesystem")

BUCKET = "h20-runs"
SECRET = "not-a-real-secret-h20"  # must appear in no output


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on an S3 endpoint of our own (random port), reached through the standard
    ``AWS_*`` variables only (no profile or config file of the machine is read)."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # one log line per request otherwise
    server.start()
    host, port = server.get_host_and_port()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    environment = {
        "AWS_ACCESS_KEY_ID": "h20-test-key", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # an instance cached for another endpoint would be reused
    s3fs.S3FileSystem().mkdir(BUCKET)
    try:
        yield BUCKET
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """12 notes of 3 patients, long enough to make several shards."""
    records = archive_records(patients=3, per_patient=4)
    for record in records:
        record["text"] += FILLER
    return write_jsonl(tmp_path / "notes.jsonl", records)


@pytest.fixture
def reference(tmp_path: Path, source: Path, inline: Language) -> dict[str, Any]:
    expected = reference_run(tmp_path, source)
    assert expected["counts"] == [(12, 12, 0, 0, 0, 3, "finished")]
    return expected


def sharded_run(source: Path, url: str, catalog: Path, **options: Any) -> Any:
    return sharded.run_sharded(source, url, TRIAL, catalog=catalog,
                               **{"workers": 0, "shard_mb": 0.002, "screen_partitions": 2, **options})


def test_a_run_on_s3_resumes_reads_only_committed_batches_and_serves_the_store_commands(
    tmp_path: Path, bucket: str, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    url = f"s3://{bucket}/run"
    catalog = tmp_path / "catalog.duckdb"
    with monkeypatch.context() as patch:
        patch.setattr(sharded, "extract_shard", stopping_after(2, sharded.extract_shard))
        with pytest.raises(Stop):
            sharded_run(source, url, catalog)
    run = RunDir(url)
    first = run.committed("extract-")
    assert sorted(record["shard"] for record in first.values()) == [0, 1]
    # a batch killed after its notes file was in place, before its commit record: a copy of
    # shard 0's notes under shard 2's name, which would double those notes if it were read
    run.fs.copy(run.path("notes/shard-000000.parquet"), run.path("notes/shard-000002.parquet"))
    run.write_bytes("_tmp/killed-upload-facts.parquet", b"PAR1 half")
    mid_run = tmp_path / "mid-run.duckdb"
    assert CliRunner().invoke(app, ["attach", url, "--store", str(mid_run)]).exit_code == 0
    committed = sum(record["counts"]["processed"] for record in first.values())
    assert query(mid_run, "SELECT count(*), count(DISTINCT note_id) FROM notes") == [(committed, committed)]
    assert query(mid_run, "SELECT count(*) FROM verdicts") == [(0,)]

    # resumed by a worker process of its own: it finds the bucket through the same variables,
    # and the main process sees the commits another process wrote (no stale listing)
    summary = sharded_run(source, url, catalog, workers=1)
    assert summary.resumed and summary.attempts == 2
    assert {name: run.committed("extract-")[name] for name in first} == first  # not run again
    assert len(run.committed("extract-")) > 2 and len(run.committed("screen-")) == 2
    assert snapshot(catalog) == reference
    assert not run.fs.exists(run.path("_tmp"))

    # the store commands on a fresh catalog of the run
    fresh = tmp_path / "fresh.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["attach", url, "--store", str(fresh)]).exit_code == 0
    assert snapshot(fresh) == reference
    done = runner.invoke(app, ["export", str(fresh), "--format", "jsonl", "-o", str(tmp_path / "exported")])
    assert done.exit_code == 0, done.output
    export_store(tmp_path / "reference.duckdb", tmp_path / "expected", ExportFormat.JSONL)
    for name in ("facts.jsonl", "verdicts.jsonl"):
        assert (tmp_path / "exported" / name).read_bytes() == (tmp_path / "expected" / name).read_bytes()
    done = runner.invoke(app, ["report", "--store", str(fresh), "-o", str(tmp_path / "report.html")])
    assert done.exit_code == 0, done.output
    assert "P0" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert SECRET not in capfd.readouterr().err + done.output
