"""Rendering on a cluster (issue 15): chunks as Dask tasks on a real LocalCluster, real Blender.

The quick tests check the pieces (cluster addresses, chunk plans, the shared frame cache's
atomic moves and key). The slow ones start a real ``distributed.LocalCluster`` of two worker
processes (each with one thread and the ``blender`` resource) and render a tiny take with the
bpy module, one Blender per chunk:

- a worker is killed (SIGKILL) in the middle of a chunk; the chunk is re-run on a worker that
  is alive, and the video is complete, labelled like a single-machine render, and its frames
  equal, pixel for pixel, a single-process render of the same take (Cycles on the CPU with the
  same samples is deterministic: only the PNGs' time stamps differ, so pixels are compared);
- a render that was stopped goes on from the frames already on disk;
- a worker that can't see the avatar folder is refused with a message naming it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.errors import InputError
from revive_core.formats import write_avatar, write_take
from revive_core.formats.label import read_sidecar
from revive_core.formats.mp4 import read_mp4_label
from revive_core.video.farm.backend import parse_cluster
from revive_core.video.farm.cache import (complete_png, done_frames, farm_folder, frame_path,
                                          install_key, move_frame)
from revive_core.video.farm.chunks import default_chunk, plan_chunks
from revive_core.video.farm.tasks import RenderJob

HAS_BPY = importlib.util.find_spec("bpy") is not None
HAS_DASK = importlib.util.find_spec("distributed") is not None
HAS_FFMPEG = shutil.which("ffprobe") is not None
needs_farm = pytest.mark.skipif(not (HAS_BPY and HAS_DASK), reason="needs bpy and distributed")
# Small, yet slow enough (about 0.2 s a frame here) to kill a worker in the middle of a chunk.
SETTINGS = {"device": "cpu", "samples": 32, "resolution": (64, 64)}


# --- the pieces ------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("local:3", ("local", 3)), ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
    ("tls://render-01.studio:8786", ("address", "tls://render-01.studio:8786"))])
def test_cluster_addresses(spec, expected):
    assert parse_cluster(spec) == expected
    assert parse_cluster("local")[0] == "local" and parse_cluster("local")[1] >= 1


@pytest.mark.parametrize("spec", ["", "local:0", "local:x", "10.0.0.5:8786", "http://a:1",
                                  "tcp://host"])
def test_a_bad_cluster_address_is_an_input_error_with_examples(spec):
    with pytest.raises(InputError) as caught:
        parse_cluster(spec)
    assert "tcp://" in caught.value.hint or "1 to 256" in caught.value.message


def test_chunks_cover_each_missing_frame_once_and_never_span_a_done_frame():
    missing = [1, 2, 3, 4, 5, 6, 7, 10, 11, 30]
    chunks = plan_chunks(missing, 3)
    assert chunks == [(1, 3), (4, 6), (7, 7), (10, 11), (30, 30)]
    covered = [f for start, end in chunks for f in range(start, end + 1)]
    assert covered == missing
    assert plan_chunks([], 5) == []
    with pytest.raises(ValueError):
        plan_chunks([1], 0)


def test_default_chunk_gives_each_worker_several_chunks_within_limits():
    assert default_chunk(240, 2) == 40  # 240 frames / (2 workers x 3 chunks)
    assert default_chunk(240, 20) == 8  # never below 8 frames (a Blender start each)
    assert default_chunk(2000, 1) == 48  # never above 48 (what a killed worker may lose)
    assert default_chunk(5, 4) == 5  # a short take is one chunk


def test_render_job_refuses_options_render_video_does_not_know(tmp_path):
    with pytest.raises(ValueError, match="frames"):
        RenderJob(tmp_path, tmp_path, tmp_path / "v.mp4", {"frames": (1, 2)})


def _png(path: Path, value: int) -> None:
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(path)


def test_frames_move_whole_into_the_shared_cache_and_a_new_key_clears_stale_ones(tmp_path):
    attempt, shared = tmp_path / "attempt", tmp_path / "shared"
    attempt.mkdir()
    (attempt / "render.json").write_text(json.dumps({"settings": {"samples": 4}}))
    assert install_key(shared, attempt / "render.json") == 0
    _png(frame_path(attempt, 1), 10)
    frame_path(attempt, 2).write_bytes(frame_path(attempt, 1).read_bytes()[:-12])  # cut short
    assert move_frame(attempt, shared, 1) and not move_frame(attempt, shared, 2)
    assert not frame_path(attempt, 1).exists() and complete_png(frame_path(shared, 1))
    assert not frame_path(shared, 2).exists()  # a broken frame never reaches the shared cache
    assert done_frames(shared, 1, 3) == [1]
    # The same key again keeps the frame; another key removes it.
    assert install_key(shared, attempt / "render.json") == 0 and done_frames(shared, 1, 1) == [1]
    (attempt / "render.json").write_text(json.dumps({"settings": {"samples": 8}}))
    assert install_key(shared, attempt / "render.json") == 1
    assert done_frames(shared, 1, 1) == []
    assert json.loads((shared / "render.json").read_text()) == {"settings": {"samples": 8}}


# --- real renders on a real LocalCluster ------------------------------------------------------

@pytest.fixture(scope="module")
def dask_cluster():
    """A LocalCluster of 2 worker processes (1 thread, the blender resource each)."""
    if not HAS_DASK:
        pytest.skip("needs distributed")
    from revive_core.video.farm.backend import connect

    with connect("local:2") as cluster:
        cluster.client.wait_for_workers(2, timeout=60)
        yield cluster


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, avatar_builder, take_builder):
    """The tiny avatar and a 1 s take at 25 fps (25 frames) as folders."""
    folder = tmp_path_factory.mktemp("inputs")
    take = take_builder()
    take.head_rotation_deg[:, 1] = np.linspace(0.0, 15.0, take.frame_count)  # each frame differs
    return (write_avatar(avatar_builder(), folder / "avatar"), write_take(take, folder / "take"),
            take.frame_count)


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """The same take rendered by one process (render_video), its frames kept."""
    from revive_core.video.render import render_video

    avatar, take, _ = inputs
    out = tmp_path_factory.mktemp("reference") / "reference.mp4"
    result = render_video(avatar, take, out, keep_frames=True, progress=False, **SETTINGS)
    return result.path, Path(str(out) + ".frames")


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _worker_pids(cluster) -> dict[str, int]:
    return cluster.client.run(os.getpid)


def _stable_label(label: dict) -> dict:
    """A label without what differs between any two videos (their id and creation time)."""
    return {k: v for k, v in label.items() if k not in ("content_id", "created", "video")}


@pytest.mark.slow
@pytest.mark.blender
@needs_farm
def test_a_worker_killed_mid_chunk_loses_only_that_chunk_and_the_video_matches(
        dask_cluster, inputs, reference, tmp_path):
    from revive_core.video.farm.driver import render_on_cluster

    avatar, take, count = inputs
    out = tmp_path / "farm" / "farm.mp4"
    shared = Path(str(out) + ".frames")
    outcome: dict = {}

    def render() -> None:
        try:
            outcome["result"] = render_on_cluster(avatar, take, out, cluster=dask_cluster,
                                                  chunk=8, keep_frames=True, progress=False,
                                                  **SETTINGS)
        except BaseException as error:  # shown by the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=render)
    thread.start()
    # Wait until a chunk has moved some, not all, of its frames in; kill its worker at once.
    client, killed = dask_cluster.client, None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        for address, keys in client.processing().items():
            chunk = next((k for k in keys if "revive-chunk-" in str(k)), None)
            if chunk is None:
                continue
            start, end = (int(x) for x in str(chunk).split("-")[-3:-1])
            done = done_frames(shared, start, end)
            if 0 < len(done) < end - start + 1 - 1:  # at least two frames still to come
                os.kill(_worker_pids(dask_cluster)[address], signal.SIGKILL)
                killed = (address, start, end, len(done))
                break
        time.sleep(0.02)
    thread.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert killed is not None, "no chunk was caught in the middle: nothing was killed"
    result = outcome["result"]
    address, start, end, before = killed

    # The killed attempt was abandoned; the chunk was done again, only for what it lacked.
    assert any(name.startswith(f"chunk-{start:06d}-{end:06d}.") for name in
               result.encode.abandoned), result.encode.abandoned
    again = next(c for c in result.chunks if (c.start, c.end) == (start, end))
    assert 0 < again.rendered <= end - start + 1 - before
    # Its Blender did not render on as an orphan: it stopped with the worker (PDEATHSIG).
    psutil = pytest.importorskip("psutil")
    abandoned = [n for n in result.encode.abandoned if n.startswith("chunk-")]
    orphans = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
               if any(n in " ".join(p.info["cmdline"] or ()) for n in abandoned)]
    assert orphans == []
    assert result.frame_count == count and len(result.chunks) >= 3
    assert result.rendered <= count + 1  # the probe's frame, the killed chunk's frame in progress

    # A complete video, labelled as a single-machine render is.
    assert result.path == out and out.is_file()
    assert not farm_folder(out).exists()  # the attempts' folders are gone
    single, single_frames = reference
    farm_label, single_label = read_mp4_label(out), read_mp4_label(single)
    assert farm_label is not None and farm_label["ai_generated"] is True
    assert _stable_label(farm_label) == _stable_label(single_label)
    assert farm_label["render"]["devices"] == ["CPU"]
    assert _stable_label(read_sidecar(out.with_name("farm.label.json"))) == \
        _stable_label(read_sidecar(single.with_name("reference.label.json")))
    # Every frame equals the single-process render's, pixel for pixel.
    assert done_frames(shared, 1, count) == list(range(1, count + 1))
    for frame in range(1, count + 1):
        np.testing.assert_array_equal(_pixels(frame_path(shared, frame)),
                                      _pixels(frame_path(single_frames, frame)),
                                      err_msg=f"frame {frame}")
    if HAS_FFMPEG:
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out)],
            capture_output=True, text=True, check=True).stdout)
        video = next(s for s in probe["streams"] if s["codec_type"] == "video")
        assert int(video["nb_frames"]) == count
        assert {s["codec_name"] for s in probe["streams"]} == {"h264", "aac"}


@pytest.mark.slow
@pytest.mark.blender
@needs_farm
def test_a_resumed_render_skips_the_frames_already_on_disk(dask_cluster, inputs, reference,
                                                           tmp_path):
    from revive_core.video.farm.driver import render_on_cluster
    from revive_core.video.render import render_video

    avatar, take, count = inputs
    out = tmp_path / "resume.mp4"
    shared = Path(str(out) + ".frames")
    # A render stopped after frame 17 (one process, --frames 1-17): no video yet.
    part = render_video(avatar, take, out, frames=(1, 17), progress=False, **SETTINGS)
    assert part.path is None and part.frames_done == 17
    stamps = {f: frame_path(shared, f).stat().st_mtime_ns for f in range(1, 18)}

    result = render_on_cluster(avatar, take, out, cluster=dask_cluster, chunk=4,
                               keep_frames=True, progress=False, **SETTINGS)
    assert result.resumed == 17 and result.probe_rendered == 0 and result.cleared == 0
    assert [(c.start, c.end) for c in result.chunks] == [(18, 21), (22, 25)]
    assert result.rendered == count - 17
    assert {f: frame_path(shared, f).stat().st_mtime_ns for f in range(1, 18)} == stamps
    for frame in (1, 17, 18, 25):
        np.testing.assert_array_equal(_pixels(frame_path(shared, frame)),
                                      _pixels(frame_path(reference[1], frame)))

    # Everything there: nothing is rendered, the video is encoded again.
    again = render_on_cluster(avatar, take, out, cluster=dask_cluster, chunk=4,
                              progress=False, **SETTINGS)
    assert again.rendered == 0 and again.chunks == () and again.resumed == count
    assert out.is_file() and not shared.exists()  # the frames go once the video is made


@pytest.mark.slow
@pytest.mark.blender
@needs_farm
def test_workers_that_cannot_see_the_avatar_are_refused_naming_them(dask_cluster, inputs,
                                                                     tmp_path):
    from revive_core.video.farm.driver import render_on_cluster

    _, take, _ = inputs
    missing = tmp_path / "on-my-laptop-only" / "avatar"
    with pytest.raises(InputError) as caught:
        render_on_cluster(missing, take, tmp_path / "v.mp4", cluster=dask_cluster,
                          progress=False, **SETTINGS)
    message = caught.value.message
    assert message.count(f"can't see {missing}") == 2  # each of the two workers
    assert all(address in message for address in _worker_pids(dask_cluster))
    assert "shared storage" in caught.value.hint
    assert not (tmp_path / "v.mp4.frames").exists()


# --- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("extra, words", [
    (["--chunk", "8"], ["--chunk only applies", "--cluster local"]),
    (["--cluster", "local:1", "--frames", "1-4"], ["--frames and --cluster"]),
    (["--cluster", "10.0.0.5"], ["--cluster '10.0.0.5'", "tcp://"]),
    (["--cluster", "local:1", "--chunk", "0"], ["--chunk 0 must be at least 1"]),
])
def test_render_cluster_mistakes_exit_2_kindly(tmp_path, capsys, extra, words):
    from revive_core.cli.main import main

    code = main(["render", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "v.mp4"),
                 *extra])
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words) and "Traceback" not in err, err


@pytest.mark.slow
@pytest.mark.blender
@needs_farm
def test_bench_farm_compares_one_and_two_workers_on_the_same_frames(inputs, tmp_path):
    from revive_core.bench.farm import run_bench, table

    avatar, take, count = inputs
    rows = run_bench(avatar, take, tmp_path, workers=(1, 2), chunk=5, samples=1,
                     resolution=(32, 32))
    assert [r.workers for r in rows] == [1, 2]
    for row in rows:
        assert row.frames == count and row.chunks == 5 and row.same_frames
        assert row.frames_per_s > 0 and row.overhead_per_chunk_s > 0
        assert row.render_s_per_frame > 0 and row.seconds > 0
    assert rows[0].speedup == 1.0
    assert rows[1].speedup == pytest.approx(rows[1].frames_per_s / rows[0].frames_per_s,
                                            rel=0.02)
    text = table(rows, samples=1, resolution=(32, 32), chunk=5)
    assert "overhead/chunk s" in text and len(text.splitlines()) == 4


@pytest.mark.slow
@pytest.mark.blender
@needs_farm
def test_a_scheduler_address_renders_on_its_blender_workers_only(inputs, tmp_path):
    """`--cluster tcp://HOST:PORT`: a real `dask scheduler` and `dask worker` processes."""
    import socket
    import sys

    from revive_core.video.farm.backend import connect
    from revive_core.video.farm.driver import render_on_cluster

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    started = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port),
                                 "--no-dashboard"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
              "--no-dashboard"]
    try:
        started.append(subprocess.Popen(worker, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))  # no blender resource
        deadline = time.monotonic() + 60
        while True:  # wait for the scheduler and its plain worker
            try:
                with connect(address, workers_timeout_s=0.5):
                    pass
            except InputError as error:
                if "declares the 'blender' resource" in error.message:
                    assert "--resources blender=1" in error.hint
                    break
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.5)
        started.append(subprocess.Popen([*worker, "--resources", "blender=1"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        avatar, take, count = inputs
        result = render_on_cluster(avatar, take, tmp_path / "remote.mp4", cluster=address,
                                   chunk=13, progress=False, device="cpu", samples=1,
                                   resolution=(32, 32))
        assert result.path.is_file() and result.frame_count == count
        assert len({c.pid for c in result.chunks}) == 1  # only the blender worker rendered
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
