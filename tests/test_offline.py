"""No network at run time: the whole demo chain runs with every socket blocked.

Each command runs in a subprocess without a network: in its own empty network namespace
(``unshare -n``: not even loopback, and for every program it starts, ffmpeg and Blender
included) where that works, else with a ``sitecustomize`` on PYTHONPATH that makes Python's
``socket.connect`` and ``getaddrinfo`` fail (Python processes only). A probe first shows that
the block holds: a server listening on this machine can't be reached from inside.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REVIVE = Path(sys.executable).parent / "revive"
SAMPLE = ROOT / "revive_core" / "assets" / "sample" / "astronaut.png"
PROBE = textwrap.dedent("""
    import socket, sys
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
        print("reached")
    except OSError as error:
        print(f"blocked: {error}")
""")
BLOCKER = textwrap.dedent("""
    # Revive's offline test: no Python process started with this on PYTHONPATH may connect.
    import socket

    def _no_network(*args, **kwargs):
        raise OSError(101, "network access is blocked by Revive's offline test")

    socket.socket.connect = socket.socket.connect_ex = _no_network
    socket.getaddrinfo = socket.create_connection = _no_network
""")


def _unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """Run a command with the network blocked; returns (CompletedProcess, how it was blocked)."""
    if _unshare_works():
        prefix, env, how = ["unshare", "-n"], dict(os.environ), "unshare -n"
    else:
        folder = tmp_path_factory.mktemp("blocker")
        (folder / "sitecustomize.py").write_text(BLOCKER)
        path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
        prefix, env, how = [], dict(os.environ, PYTHONPATH=path), "sitecustomize"

    def run(*argv, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *map(str, argv)], capture_output=True, text=True,
                              env=env, timeout=timeout, cwd=ROOT)

    run.how = how
    return run


def test_the_block_holds(offline):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        open_ = subprocess.run([sys.executable, "-c", PROBE, str(port)], capture_output=True,
                               text=True)
        assert open_.stdout.startswith("reached")  # without the block, the probe connects
        blocked = offline(sys.executable, "-c", PROBE, str(port))
    assert blocked.stdout.startswith("blocked"), (offline.how, blocked.stdout, blocked.stderr)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module")
def test_the_whole_demo_chain_runs_without_network(offline, tmp_path):
    avatar, take = tmp_path / "avatar", tmp_path / "take"
    preview, video = tmp_path / "preview.mp4", tmp_path / "video.mp4"
    steps = [
        # delit: the GAN's 300 texture steps take a minute and touch no network either
        ("build", SAMPLE, "--out", avatar, "--texture-size", "512", "--texture-method", "delit",
         "--consent", "Revive sample (public-domain NASA portrait), offline test, 2025-01-01"),
        ("say", avatar, "--text", "Hello, my dear. I am so proud of you.", "--out", take),
        ("preview", avatar, take, "--out", preview, "--resolution", "64x64"),
        ("render", avatar, take, "--out", video, "--resolution", "32x32", "--samples", "1",
         "--device", "cpu"),
    ]
    for step in steps:
        result = offline(REVIVE, *step)
        assert result.returncode == 0, (offline.how, step[0], result.stderr[-3000:])
        assert "Traceback" not in result.stderr
    for output in (preview, video):
        result = offline(REVIVE, "inspect", output, "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["labelled"] and report["problems"] == []
        assert report["label"]["consent"]["authorised_by"] == "Revive sample (public-domain NASA portrait)"
    print(f"demo chain ran offline ({offline.how}): {sorted(p.name for p in tmp_path.iterdir())}")
