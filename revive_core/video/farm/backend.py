"""The thin cluster interface the farm needs, and its Dask distributed implementation.

Revive does not schedule anything itself: a ``Cluster`` hands tasks to an existing engine,
which places them on workers, retries them and re-runs the tasks of a worker that died. The
interface is small on purpose, so that another engine (Ray: ``ray.remote`` tasks with
``resources={"blender": 1}``, ``ray.wait``) can be plugged in beside Dask:

- ``workers()``: the workers and the resources they declare;
- ``run_everywhere(fn, *args)``: a quick function on every worker, for checks;
- ``submit(fn, *args, key=..., resources=..., retries=...)``: a task; handles among ``args`` are
  its dependencies and reach ``fn`` as their results;
- ``done(task)``, ``outcome(task)`` (result, error), ``cancel(tasks)``, ``close()``.

Cluster addresses: ``local`` or ``local:N`` starts a ``distributed.LocalCluster`` of N worker
processes on this machine (one thread and one ``blender`` each); ``tcp://HOST:PORT`` (or
``tls://``) connects to a running ``dask scheduler`` whose rendering workers were started with
``--nthreads 1 --resources blender=1``.

Functions
---------
parse_cluster   "local", "local:N" or a scheduler address -> (kind, value)
connect         a context manager giving a ``Cluster`` for such a string
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

from revive_core.errors import InputError

__all__ = ["BLENDER", "Cluster", "DaskCluster", "WorkerInfo", "connect", "default_local_workers",
           "parse_cluster"]

BLENDER = "blender"  # the resource a worker declares when it may run one Blender render
WAIT_FOR_WORKERS_S = 30.0
_LOCAL = re.compile(r"local(?::(\d+))?")
_ADDRESS = re.compile(r"(tcp|tls)://[^\s/:]+:\d+")
_HINT = ("Give --cluster local, local:N (N workers on this machine) or the scheduler's "
         "address, e.g. tcp://render-01:8786.")


@dataclass(frozen=True)
class WorkerInfo:
    """One worker: its address, the host it runs on and the resources it declares."""

    address: str
    host: str
    resources: Mapping[str, float]

    @property
    def renders(self) -> bool:
        return self.resources.get(BLENDER, 0) >= 1


class Cluster(Protocol):
    """What the farm needs from a distributed engine (see the module's docstring)."""

    description: str

    def workers(self) -> list[WorkerInfo]: ...

    def run_everywhere(self, function: Callable, *args: Any) -> dict[str, Any]: ...

    def submit(self, function: Callable, *args: Any, key: str,
               resources: Mapping[str, float] | None = None, retries: int = 0) -> Any: ...

    def done(self, task: Any) -> bool: ...

    def outcome(self, task: Any) -> tuple[Any, BaseException | None]: ...

    def cancel(self, tasks: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


def default_local_workers() -> int:
    """Workers of ``--cluster local``: one per two cores (Cycles uses every core it is given)."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def parse_cluster(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` or ``("address", "tcp://HOST:PORT")``; an InputError otherwise.

    Examples
    --------
    >>> parse_cluster("local:2")
    ('local', 2)
    >>> parse_cluster("tcp://render-01:8786")
    ('address', 'tcp://render-01:8786')
    """
    text = (spec or "").strip()
    if match := _LOCAL.fullmatch(text):
        workers = int(match.group(1)) if match.group(1) else default_local_workers()
        if not 1 <= workers <= 256:
            raise InputError(f"--cluster {spec}: the number of local workers must be 1 to 256.",
                             _HINT)
        return "local", workers
    if _ADDRESS.fullmatch(text):
        return "address", text
    raise InputError(f"--cluster {spec!r} is not a cluster Revive understands.", _HINT)


class DaskCluster:
    """``Cluster`` on a ``distributed.Client`` (and the ``LocalCluster`` it started, if any)."""

    def __init__(self, client: Any, local: Any = None, description: str = "") -> None:
        self.client = client
        self._local = local
        self.description = description or str(client.scheduler.address)

    def workers(self) -> list[WorkerInfo]:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return [WorkerInfo(address, str(w.get("host", "")), dict(w.get("resources") or {}))
                for address, w in sorted(info.items())]

    def run_everywhere(self, function: Callable, *args: Any) -> dict[str, Any]:
        return self.client.run(function, *args)

    def submit(self, function: Callable, *args: Any, key: str,
               resources: Mapping[str, float] | None = None, retries: int = 0) -> Any:
        return self.client.submit(function, *args, key=f"{key}-{uuid.uuid4().hex[:8]}",
                                  resources=dict(resources) if resources else None,
                                  retries=retries, pure=False)

    def done(self, task: Any) -> bool:
        return task.done()

    def outcome(self, task: Any) -> tuple[Any, BaseException | None]:
        if task.status == "error":
            return None, task.exception()
        if task.status == "cancelled":
            return None, RuntimeError("the task was cancelled")
        return task.result(), None

    def cancel(self, tasks: Sequence[Any]) -> None:
        if tasks:
            self.client.cancel(list(tasks))

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._local is not None:
                self._local.close()


@contextlib.contextmanager
def connect(spec: str, *, workers_timeout_s: float = WAIT_FOR_WORKERS_S) -> Iterator[DaskCluster]:
    """A Dask cluster for ``spec`` (see ``parse_cluster``), closed (and stopped) afterwards."""
    kind, value = parse_cluster(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Rendering on a cluster needs Dask distributed, which is not installed.",
                         "pip install distributed (Revive pins the version it was tested with)."
                         ) from None
    # Dask's own INFO lines (workers starting, closing) would drown Revive's; warnings stay.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if kind == "local":
        # Its workers log only what is critical: a task's error is Revive's to report (kindly,
        # once, in its own words), not a worker's traceback.
        local = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True,
                             resources={BLENDER: 1}, dashboard_address=None,
                             host="127.0.0.1", silence_logs=logging.CRITICAL,
                             # no dashboard; its small HTTP server on any free local port
                             scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        cluster = DaskCluster(Client(local), local, f"local:{value}")
    else:
        try:
            client = Client(str(value), timeout="10s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"Can't reach the Dask scheduler at {value} ({error}).",
                             "Start it with `dask scheduler` on that machine, check the "
                             "address and port, and that this machine may connect to it."
                             ) from None
        cluster = DaskCluster(client, None, str(value))
        _wait_for_renderers(cluster, workers_timeout_s)
    try:
        yield cluster
    finally:
        cluster.close()


def _wait_for_renderers(cluster: DaskCluster, timeout_s: float) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not any(w.renders for w in cluster.workers()):
        if time.monotonic() > deadline:
            cluster.close()
            raise InputError(
                f"No worker of the Dask scheduler at {cluster.description} declares the "
                f"'{BLENDER}' resource, so nothing can render.",
                f"On each render machine run: dask worker {cluster.description} --nthreads 1 "
                f"--resources {BLENDER}=1 (with Revive and bpy or Blender installed).")
        time.sleep(0.5)
