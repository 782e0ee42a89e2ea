"""``revive batch JOBS.toml --cluster local[:N]|tcp://HOST:PORT``: many avatars and takes at once.

Every avatar build (with its consent record), every take (``revive say``) and every render
(chunks of frames, ``revive render --cluster``) is a task on the cluster; a take waits for its
avatar, a render for its take. One progress bar follows the whole batch, and a summary says
what was made and, for what failed, why. One failure never stops the others: a take whose
avatar failed is skipped (and says so), the rest goes on. Exit code 0 when everything was made,
1 when something failed, 2 for a mistake in the jobs file or the cluster (nothing started).

Functions
    add_commands    the ``revive batch`` command
    run_batch       run a checked ``Batch`` on a cluster; returns one ``Outcome`` per entry
    build_entry     (on a worker) build one avatar
    say_entry       (on a worker) make one take
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revive_core.cli.jobs import AvatarEntry, Batch, TakeEntry, read_jobs
from revive_core.video.farm.driver import TakeRender, describe_error
from revive_core.video.farm.tasks import RenderJob

__all__ = ["Outcome", "add_commands", "build_entry", "run_batch", "say_entry"]

log = logging.getLogger("revive")
POLL_S = 0.25


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """``revive batch JOBS.toml [--cluster ...] [--chunk FRAMES]``."""
    p = subparsers.add_parser("batch", help="build avatars and render takes listed in a TOML "
                              "file, on a Dask cluster (docs/farm.md)")
    p.add_argument("jobs", type=Path, metavar="JOBS.toml")
    p.add_argument("--cluster", default="local", metavar="CLUSTER",
                   help="local[:N] (N worker processes here; default local) or tcp://HOST:PORT "
                        "(a Dask scheduler; shared storage)")
    p.add_argument("--chunk", type=int, default=None, metavar="FRAMES",
                   help="frames per render task (default: a take's chunk, or automatic)")
    p.set_defaults(run=_run)


@dataclass
class Outcome:
    """One line of the summary: an avatar or a take, and what became of it."""

    kind: str  # "avatar" or "take"
    label: str  # "grandma", "#2 videos/b.mp4"
    output: Path
    state: str = "waiting"  # waiting, done, failed, skipped
    reason: str = ""
    hint: str = ""
    detail: str = ""


def build_entry(entry: AvatarEntry) -> Path:
    """On a worker: build the avatar from its photos (``revive build``); returns its folder."""
    from revive_core.avatar.build import build_avatar

    entry.folder.parent.mkdir(parents=True, exist_ok=True)
    build_avatar(list(entry.photos), entry.folder, consent=entry.consent, name=entry.name,
                 **entry.build)
    return entry.folder


def say_entry(entry: TakeEntry, avatar: Path) -> Path:
    """On a worker: make the take (``revive say``) with the avatar's face; returns its folder."""
    from revive_core.formats import read_avatar
    from revive_core.take.say import make_take

    entry.take_dir.parent.mkdir(parents=True, exist_ok=True)
    make_take(read_avatar(avatar), entry.say["text"], entry.take_dir, **{
        k: v for k, v in entry.say.items() if k != "text"})
    return entry.take_dir


def _run(args: argparse.Namespace) -> int:
    from revive_core.errors import InputError
    from revive_core.video.farm.backend import connect
    from revive_core.video.farm.driver import check_workers

    if args.chunk is not None and args.chunk < 1:
        raise InputError(f"--chunk {args.chunk} must be at least 1 frame.")
    batch = read_jobs(args.jobs)
    for folder in batch.writable():
        folder.mkdir(parents=True, exist_ok=True)
    log.info("Batch %s: %d avatars, %d takes, on %s.", batch.path.name, len(batch.avatars),
             len(batch.takes), args.cluster)
    started = time.perf_counter()
    with connect(args.cluster) as cluster:
        workers = check_workers(cluster, batch.readable(), batch.writable())
        outcomes = run_batch(cluster, batch, chunk=args.chunk, workers=workers)
    print(summary(batch, outcomes, time.perf_counter() - started))
    return 0 if all(o.state == "done" for o in outcomes) else 1


def run_batch(cluster: Any, batch: Batch, *, chunk: int | None = None, workers: int = 1,
              progress: bool | None = None) -> list[Outcome]:
    """Run every build, take and render of ``batch`` on ``cluster``; never raises for one entry.

    Returns one ``Outcome`` per avatar (in the file's order), then one per take.
    """
    avatars = {a.name: a for a in batch.avatars}
    outcomes = {a.name: Outcome("avatar", a.name, a.folder) for a in batch.avatars}
    builds = {a.name: cluster.submit(build_entry, a, key=f"revive-build-{a.name}")
              for a in batch.avatars if a.builds}
    for name, avatar in avatars.items():
        if not avatar.builds:
            outcomes[name].state, outcomes[name].detail = "done", "given"
    takes: list[_TakeState] = []
    for entry in batch.takes:
        state = _TakeState(entry, Outcome("take", f"#{entry.number} {entry.out.name}",
                                          entry.out))
        if entry.say is not None:
            avatar_dir = builds.get(entry.avatar, avatars[entry.avatar].folder)
            state.say = cluster.submit(say_entry, entry, avatar_dir,
                                       key=f"revive-say-{entry.number}")
        takes.append(state)

    bar = _bar(progress)
    try:
        while True:
            for name, task in builds.items():
                if outcomes[name].state == "waiting" and cluster.done(task):
                    _, error = cluster.outcome(task)
                    _settle(outcomes[name], error, "built")
            for state in takes:
                _advance(cluster, state, builds, outcomes, chunk, workers)
            done, known = _count(cluster, builds, takes)
            if bar is not None:
                bar.total = known
                bar.update(done - bar.n)
            if all(s.outcome.state != "waiting" for s in takes) and \
                    all(outcomes[n].state != "waiting" for n in builds):
                break
            time.sleep(POLL_S)
    finally:
        if bar is not None:
            bar.close()
    return [*outcomes.values(), *(s.outcome for s in takes)]


@dataclass
class _TakeState:
    entry: TakeEntry
    outcome: Outcome
    say: Any = None
    render: Any = None  # a TakeRender once the take exists


def _advance(cluster: Any, state: _TakeState, builds: dict[str, Any],
             outcomes: dict[str, Outcome], chunk: int | None, workers: int) -> None:
    """Move one take on: its avatar built and take made -> its render started -> over."""
    entry, outcome = state.entry, state.outcome
    if outcome.state != "waiting":
        return
    if state.render is None:
        build = builds.get(entry.avatar)
        waited = state.say if state.say is not None else build
        if waited is not None and not cluster.done(waited):
            return
        if build is not None and cluster.done(build) and cluster.outcome(build)[1] is not None:
            outcome.state = "skipped"
            outcome.reason = f"its avatar {entry.avatar!r} could not be built"
            return
        if state.say is not None:
            _, error = cluster.outcome(state.say)
            if error is not None:
                _settle(outcome, error, "")
                return
        job = RenderJob(outcomes[entry.avatar].output, entry.take_dir, entry.out,
                        dict(entry.render), entry.keep_frames)
        state.render = TakeRender(job, chunk or entry.chunk, f"take{entry.number}", workers)
        state.render.start(cluster)
        return
    if state.render.advance(cluster):
        if state.render.error is not None:
            _settle(outcome, state.render.error, "")
        else:
            result = state.render.result
            outcome.state = "done"
            outcome.detail = f"{result.frame_count} frames, {result.seconds:.1f} s"


def _settle(outcome: Outcome, error: BaseException | None, detail: str) -> None:
    if error is None:
        outcome.state, outcome.detail = "done", detail
    else:
        outcome.state, outcome.reason = "failed", describe_error(error)
        outcome.hint = getattr(error, "hint", "") or ""


def _count(cluster: Any, builds: dict[str, Any], takes: list[_TakeState]) -> tuple[int, int]:
    """(finished, known) tasks of the whole batch."""
    handles = [*builds.values(), *(s.say for s in takes if s.say is not None)]
    done = sum(1 for t in handles if cluster.done(t))
    known = len(handles)
    for state in takes:
        if state.render is not None:
            finished, total = state.render.task_counts(cluster)
            done, known = done + finished, known + total
        elif state.outcome.state == "waiting":
            known += 2  # at least its probe and its encode are still to come
    return done, known


def summary(batch: Batch, outcomes: list[Outcome], seconds: float) -> str:
    """The batch's result as a few plain lines: one per avatar and take, failures with why."""
    videos = [o for o in outcomes if o.kind == "take"]
    made = sum(o.state == "done" for o in videos)
    failed = sum(o.state == "failed" for o in outcomes)
    skipped = sum(o.state == "skipped" for o in outcomes)
    problems = [f"{failed} failed"] * bool(failed) + [f"{skipped} skipped"] * bool(skipped)
    lines = [f"Batch {batch.path.name}: {made} of {len(videos)} videos made in {seconds:.0f} s"
             + (f"; {', '.join(problems)} (see below)." if problems else ".")]
    for o in outcomes:
        what = f"{o.kind} {o.label}"
        why = f": {o.reason}" if o.reason else (f" ({o.detail})" if o.detail else "")
        lines.append(f"  {o.state:<8} {what:<32} {o.output}{why}")
        if o.hint:
            lines.append(f"  {'':<8} {'':<32} {o.hint}")
    return "\n".join(lines)


def _bar(progress: bool | None):
    if progress is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=0, desc="Batch", unit="task", file=sys.stderr,
                disable=None if progress is None else False)
