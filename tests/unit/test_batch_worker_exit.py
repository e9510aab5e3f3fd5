"""Local batch workers: spawned for extraction, forked from the main process for screening
(on Linux); they leave without the interpreter's teardown, yet lose nothing they wrote."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import psutil
import pytest

from extractor.batch.executors import ProcessExecutor
from extractor.batch.work import screen_batch


def test_the_exit_flushes_output_then_skips_the_teardown() -> None:
    script = (
        "import atexit, sys\n"
        "from extractor.batch.executors import _exit_now\n"
        "atexit.register(lambda: print('teardown ran'))\n"  # registered first: runs after _exit_now, if ever
        "atexit.register(_exit_now)\n"
        "sys.stdout.write('written, not flushed')\n"
        "sys.exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout) == (0, "written, not flushed")


def test_workers_are_gone_once_the_executor_closes() -> None:
    executor = ProcessExecutor(2)
    try:
        results = [executor.result(executor.submit(screen_batch, [], None, None)) for _ in range(4)]
    finally:
        executor.close()
    assert all(result.patients == [] for result in results)
    pids = {int(result.stats.worker.rsplit(":", 1)[1]) for result in results}
    assert pids and not any(psutil.pid_exists(pid) for pid in pids)  # exited and reaped


def start_method() -> str:
    return type(multiprocessing.current_process()).__name__


@pytest.mark.skipif(sys.platform != "linux", reason="forked only on Linux")
def test_extraction_workers_are_spawned_and_screening_workers_forked_from_a_small_main() -> None:
    roomy = ProcessExecutor(1, memory_mb=100_000.0)  # room for a child as large as this process
    try:
        first = roomy.result(roomy.submit(start_method))
        roomy.refresh()  # between the phases of a sharded run
        second = roomy.result(roomy.submit(start_method))
        memory = roomy.result(roomy.submit(screen_batch, [], None, None))
    finally:
        roomy.close()
    assert (first, second) == ("SpawnProcess", "ForkProcess")
    assert memory.stats.rss_mb > 0 and roomy.renewals == 0
    tight = ProcessExecutor(1, memory_mb=1.0)  # a child of this process would start over the bound
    try:
        tight.refresh()
        assert tight.result(tight.submit(start_method)) == "SpawnProcess"
    finally:
        tight.close()


def pipeline_is_loaded() -> bool:
    from extractor.batch import work

    return getattr(work._local, "nlp", None) is not None


def test_warm_extraction_workers_load_the_pipeline_as_they_start_and_screening_workers_do_not() -> None:
    warm = ProcessExecutor(1, memory_mb=100_000.0, warm=True)
    try:
        at_first_task = warm.result(warm.submit(pipeline_is_loaded))
        warm.refresh()  # screening: fresh workers that never use the pipeline
        screening = warm.result(warm.submit(pipeline_is_loaded))
    finally:
        warm.close()
    cold = ProcessExecutor(1)
    try:
        assert cold.result(cold.submit(pipeline_is_loaded)) is False
    finally:
        cold.close()
    assert (at_first_task, screening) == (True, False)
