"""BackgroundCall: progress is visible while it runs, results and GtErrors arrive, cancel works."""

from __future__ import annotations

import threading

import pytest

from gtcore.background import BackgroundCall
from gtcore.errors import ConfigError, GtError, NotFoundError


def test_progress_then_result() -> None:
    step = threading.Event()
    release = threading.Event()

    def work(progress, cancel):
        progress("half")
        step.set()
        release.wait(5)
        return 42

    job = BackgroundCall("demo", work).start()
    assert step.wait(5)
    assert job.progress() == "half"
    assert job.running and job.result is None
    release.set()
    assert job.wait(5)
    assert job.result == 42 and job.error is None and not job.running


def test_gt_errors_and_crashes_become_errors() -> None:
    def missing(progress, cancel):
        raise NotFoundError("no table", hint="run setup")

    job = BackgroundCall("missing", missing).start()
    job.wait(5)
    assert isinstance(job.error, NotFoundError) and job.error.hint == "run setup"

    def bug(progress, cancel):
        raise ZeroDivisionError("oops")

    job = BackgroundCall("bug", bug).start()
    job.wait(5)
    assert isinstance(job.error, GtError) and "ZeroDivisionError" in job.error.message


def test_cancel_reaches_the_work() -> None:
    def work(progress, cancel):
        return "cancelled" if cancel.wait(5) else "timed out"

    job = BackgroundCall("cancel", work).start()
    job.cancel()
    job.wait(5)
    assert job.result == "cancelled"


def test_a_call_is_idle_until_started_and_starts_only_once() -> None:
    job = BackgroundCall("once", lambda progress, cancel: 1)
    assert not job.running and job.progress() is None
    job.start()
    with pytest.raises(ConfigError, match="already started"):
        job.start()
    assert job.wait(5) and job.result == 1
