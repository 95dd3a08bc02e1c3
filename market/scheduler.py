"""The scheduler process. The database row is the truth; the scheduler only
triggers sweeps, and each sweep claims due rows (FOR UPDATE SKIP LOCKED on
PostgreSQL, BEGIN IMMEDIATE on SQLite) so any number of schedulers may run.

Packages declare jobs as data with stable ids (like redash's schedule.py) in
their init_app; a job is `func(db: Database) -> int` (how much it did) and opens
its own transactions, one per unit of work, so a crash leaves nothing half-done.
"""
from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app

from .db import Database, database

log = logging.getLogger("market.scheduler")


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[Database], int]
    seconds: float = 1.0


def register(app: Flask, *jobs: Job) -> None:
    table = app.extensions.setdefault("market.jobs", {})
    for job in jobs:
        if job.id in table:
            raise ValueError(f"duplicate job id {job.id}")
        table[job.id] = job


def jobs(app: Flask | None = None) -> list[Job]:
    return list((app or current_app).extensions.get("market.jobs", {}).values())


def run_job(job: Job, db: Database) -> int:
    try:
        return int(job.func(db) or 0)
    except Exception:  # one failing job must not stop the others; the next sweep retries
        log.exception("job %s failed", job.id)
        return 0


def run_once(app: Flask, max_passes: int = 100) -> int:
    """Run every job until a whole pass does nothing (work a step made due is done too)."""
    db = database(app)
    total = 0
    for _ in range(max_passes):
        done = sum(run_job(job, db) for job in jobs(app))
        total += done
        if done == 0:
            break
    return total


def run_forever(app: Flask) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    db = database(app)
    sched = BlockingScheduler(timezone="UTC")

    def wrap(job: Job):
        def run():
            with app.app_context():
                run_job(job, db)
        return run

    for job in jobs(app):
        # One instance per job in this process; coalesce missed runs into one, and a
        # late run still runs: the sweep itself decides what is due from the rows.
        sched.add_job(wrap(job), IntervalTrigger(seconds=job.seconds), id=job.id,
                      max_instances=1, coalesce=True, misfire_grace_time=None)

    def stop(*_):
        # Ctrl-C reaches this process twice under `make run` (the terminal's INT, then the
        # run script's TERM); the second signal must not interrupt the first shutdown.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if sched.running:
            sched.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started with %d jobs", len(jobs(app)))
    with app.app_context():
        run_once(app)  # catch up on anything that came due while no scheduler ran
    sched.start()


def sleep_until_stopped(seconds: float) -> None:  # pragma: no cover - used by demos
    time.sleep(seconds)
