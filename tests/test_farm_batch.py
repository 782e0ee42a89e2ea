"""``revive batch JOBS.toml``: the jobs file is checked kindly, and one failure stops no other.

The checks of the file run without a cluster. The slow test runs a real batch on a real
LocalCluster of two workers: an avatar given by path, an avatar that can't be built (a photo
without a face), a take made from text, a take made before, and a take of the broken avatar.
Both good takes become labelled videos; the summary says which avatar failed and why, and that
its take was skipped.
"""
from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.cli.jobs import read_jobs
from revive_core.cli.main import main
from revive_core.errors import InputError
from revive_core.formats import write_avatar, write_take
from revive_core.formats.mp4 import read_mp4_label

HAS_FARM = importlib.util.find_spec("bpy") is not None and \
    importlib.util.find_spec("distributed") is not None
CONSENT = "Mei Chen, daughter, 2026-11-28"


def _jobs(folder: Path, text: str) -> Path:
    path = folder / "jobs.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path, avatar_builder, take_builder):
    write_avatar(avatar_builder(), tmp_path / "avatar")
    write_take(take_builder(seconds=0.2), tmp_path / "take")
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    return tmp_path


def test_a_good_jobs_file_is_read_with_paths_beside_it_and_render_defaults(files):
    batch = read_jobs(_jobs(files, f"""
        [render]
        samples = 8
        resolution = "96x64"
        chunk = 12
        [[avatar]]
        name = "grandma"
        photos = ["grey.png"]
        consent = "{CONSENT}"
        texture_method = "delit"
        [[avatar]]
        name = "tiny"
        path = "avatar"
        [[take]]
        avatar = "grandma"
        text = "Happy birthday."
        out = "videos/birthday.mp4"
        samples = 2
        [[take]]
        avatar = "tiny"
        take = "take"
        out = "videos/given.mp4"
        """))
    grandma, tiny = batch.avatars
    assert grandma.builds and grandma.folder == files / "avatars" / "grandma"
    assert grandma.consent["authorised_by"] == "Mei Chen" and grandma.build == {
        "texture_method": "delit"}
    assert not tiny.builds and tiny.folder == files / "avatar"
    said, given = batch.takes
    assert said.render == {"samples": 2, "resolution": (96, 64)} and said.chunk == 12
    assert said.take_dir == files / "videos" / "birthday.take" and said.say["text"]
    assert given.say is None and given.take_dir == files / "take"
    assert files / "grey.png" in batch.readable() and files / "videos" in batch.writable()


@pytest.mark.parametrize("text, words", [
    ('[[avatar]]\nname = "a"\nphotos = ["grey.png"]\n', ["[[avatar]] #1 (a)", "consent"]),
    (f'[[avatar]]\nname = "a"\nphotos = ["grey.png"]\nconsent = "{CONSENT}"\n'
     '[[take]]\navatar = "b"\ntext = "Hi."\nout = "v.mp4"\n',
     ["[[take]] #1 (v.mp4)", "no [[avatar]] is named 'b'", "a"]),
    ('[[avatar]]\nname = "a"\npath = "avatar"\n[[take]]\navatar = "a"\ntext = "Hi."\n'
     'audio = "grey.png"\nout = "v.mp4"\n', ["[[take]] #1", "one of text, audio or take"]),
    ('[[avatar]]\nname = "a"\npath = "avatar"\n[[take]]\navatar = "a"\ntxet = "Hi."\n'
     'out = "v.mp4"\n', ["[[take]] #1", "unknown key 'txet'"]),
    ('[[avatar]]\nname = "a"\npath = "avatar"\n[[take]]\navatar = "a"\ntext = "Hi."\n'
     'out = "v.mov"\n', ["[[take]] #1", "should end in .mp4"]),
    ('[render]\nsamples = "many"\n', ["[render]", "samples", "whole number"]),
    ('[[avatar]]\nname = "a"\npath = "nowhere"\n', ["[[avatar]] #1 (a)", "nowhere",
                                                     "does not exist"]),
    ('[[avatar]]\nname = "a"\nphotos = ["grey.png"]\nconsent = "my son"\n',
     ["[[avatar]] #1 (a)", "relationship"]),
    ('[[avatar]]\nname = "a"\npath = "avatar"\n' + '[[take]]\navatar = "a"\ntake = "take"\n'
     'out = "v.mp4"\n' * 2, ["[[take]] #2", "also written by", "#1"]),
    ('[[avatar]\nname = "a"\n', ["jobs.toml is not valid TOML"]),
])
def test_mistakes_in_the_jobs_file_name_the_file_and_the_entry(files, text, words):
    with pytest.raises(InputError) as caught:
        read_jobs(_jobs(files, text))
    message = str(caught.value)
    assert all(word in message for word in words), message
    if "TOML" not in message:
        assert "jobs.toml, " in message


def test_revive_batch_with_a_bad_file_exits_2_without_a_traceback(files, capsys):
    code = main(["batch", str(_jobs(files, '[[take]]\navatar = "x"\n')), "--cluster", "local:1"])
    err = capsys.readouterr().err
    assert code == 2 and "jobs.toml, [[take]] #1" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.blender
@pytest.mark.skipif(not HAS_FARM, reason="needs bpy and distributed")
def test_one_failure_is_reported_while_the_other_takes_are_made(files, capsys):
    jobs = _jobs(files, f"""
        [render]
        samples = 2
        resolution = "64x64"
        device = "cpu"
        chunk = 3
        [[avatar]]
        name = "tiny"
        path = "avatar"
        [[avatar]]
        name = "faceless"
        photos = ["grey.png"]
        consent = "{CONSENT}"
        texture_method = "delit"
        texture_size = 512
        [[take]]
        avatar = "tiny"
        text = "Hi."
        emotion = "neutral"
        out = "videos/said.mp4"
        [[take]]
        avatar = "tiny"
        take = "take"
        out = "videos/given.mp4"
        [[take]]
        avatar = "faceless"
        text = "Hello."
        emotion = "neutral"
        out = "videos/faceless.mp4"
        """)
    code = main(["batch", str(jobs), "--cluster", "local:2"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("Batch jobs.toml: 2 of 3 videos made") and \
        "1 failed, 1 skipped" in lines[0]
    state = {line.split()[2] if line.split()[1] == "avatar" else line.split()[3]:
             line.split()[0] for line in lines[1:] if line.split()[0] in
             ("done", "failed", "skipped")}
    assert state == {"tiny": "done", "faceless": "failed", "said.mp4": "done",
                     "given.mp4": "done", "faceless.mp4": "skipped"}
    assert "No face was found" in captured.out and "could not be built" in captured.out
    assert "Traceback" not in captured.out + captured.err
    for name in ("said", "given"):
        video = files / "videos" / f"{name}.mp4"
        label = read_mp4_label(video)
        assert label is not None and label["ai_generated"] is True
        assert label["consent"]["authorised_by"] == "Test Family"  # the avatar's own record
        assert (files / "videos" / f"{name}.label.json").is_file()
        assert not (files / "videos" / f"{name}.mp4.frames").exists()
    assert (files / "videos" / "said.take" / "take.json").is_file()
    assert not (files / "videos" / "faceless.mp4").exists()
    assert not (files / "avatars" / "faceless").exists()
