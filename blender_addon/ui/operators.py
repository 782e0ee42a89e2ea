"""Revive's operators in Blender: import, stage, render, and the heavy steps in the background.

The operators only read what the person chose and call ``imp``, ``stage``, ``render.frames``,
``render.settings`` and ``jobs``; a ReviveError (a wrong folder, a take for no head, no GPU)
becomes an error report with its hint, never a traceback. Heavy steps (building an avatar,
speaking a line, a pyrender preview) run the ``revive`` command in the background: a modal
timer shows its progress in the status bar and the panel, Esc or "Stop" cancels it, and Blender
stays responsive. Run from a script or ``blender -b``, the same operators wait for the command.

Classes
-------
REVIVE_OT_import_avatar   file browser on an avatar folder (or its avatar.json) or zip
REVIVE_OT_import_take     a take folder or zip, applied to the active Revive head as layers
REVIVE_OT_setup_stage     camera, lights, background and label again (after changing them)
REVIVE_OT_render_video    render the frames into the frame cache, then the labelled MP4
REVIVE_OT_build_avatar    `revive build` on photos, then import the avatar
REVIVE_OT_speak_line      `revive say` (a line, a persona's answer or a recording), then apply
REVIVE_OT_preview         `revive preview` of the head's avatar and take (pyrender, quick)
REVIVE_OT_watch_job       the modal timer that follows a background job
REVIVE_OT_stop_job        stop the background job
REVIVE_OT_reset_face      all face controls back to 0
REVIVE_OT_key_face        keyframe every face control at the current frame
"""
from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import bpy
from bpy.props import BoolProperty, CollectionProperty, StringProperty
from bpy.types import Operator, OperatorFileListElement

from ..about import PACKAGE, VERSION
from ..imp.head import find_head, import_avatar
from ..imp.rig import control_groups, find_controls
from ..render.frames import (cached_devices, encode_video, frame_cache, frame_output,
                             open_cache, record_device, render_frames)
from ..render.settings import configure_render
from ..revive_formats import ReviveError, read_avatar, read_take
from ..revive_formats.progress import wrote_line
from ..stage.performance import apply_take
from ..stage.stage import setup_stage
from .jobs import Job

__all__ = ["OPERATORS", "REVIVE_OT_build_avatar", "REVIVE_OT_import_avatar",
           "REVIVE_OT_import_take", "REVIVE_OT_key_face", "REVIVE_OT_preview",
           "REVIVE_OT_render_video", "REVIVE_OT_reset_face", "REVIVE_OT_setup_stage",
           "REVIVE_OT_speak_line", "REVIVE_OT_stop_job", "REVIVE_OT_watch_job", "current_job",
           "stop_current_job"]

PROP_AVATAR_PATH = "revive_avatar_path"  # on the head: the folder it was imported from
PROP_TAKE_PATH = "revive_take_path"
_job: dict = {}  # the one background job: {"job": Job, "done": callable(status) or None}


def current_job() -> Job | None:
    """The background job started last (running or finished), if any."""
    return _job.get("job")


def stop_current_job() -> None:
    """Stop the background job, if one runs (when the add-on is disabled, say)."""
    job = _job.pop("job", None)
    _job.clear()
    if job is not None:
        job.cancel()


# --- helpers ---------------------------------------------------------------------------------

def _stage_from_settings(scene, head) -> None:
    """Camera, lights, background and label as the panel's settings and resolution say."""
    settings = scene.revive
    setup_stage(scene, head, mode=settings.mode, framing=settings.framing,
                light=settings.light,
                background=None if settings.background == "auto" else settings.background,
                resolution=(scene.render.resolution_x, scene.render.resolution_y),
                visible_label=settings.visible_label, label_position=settings.label_position,
                label_size=settings.label_size)


def _error(operator: Operator, exc: Exception) -> set[str]:
    """Report ``exc`` to the person (message and hint) and cancel the operator."""
    if isinstance(exc, ReviveError):
        text = f"{exc.message} {exc.hint}".strip()
    else:  # an OSError: a file that can't be read or written
        text = f"{exc.strerror or exc}: {exc.filename}" if isinstance(exc, OSError) else str(exc)
    operator.report({"ERROR"}, text)
    return {"CANCELLED"}


def _chosen_path(filepath: str, directory: str, marker: str, kind: str) -> Path:
    """The folder or zip the person chose: a folder, its ``marker`` file, or a zip."""
    raw = filepath or directory
    if not raw:
        raise ReviveError(f"No {kind} was chosen.", f"Choose a {kind} folder or a .zip of one.")
    path = Path(bpy.path.abspath(raw))
    if path.is_file() and path.name == marker:
        return path.parent
    if path.is_file() and path.suffix.lower() != ".zip":
        raise ReviveError(f"{path} is not a {kind}.",
                          f"Choose a {kind} folder, its {marker}, or a .zip of the folder.")
    return path


def _heads(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    return [o for o in scene.objects if find_head(o) is o]


def _target_head(context) -> bpy.types.Object:
    head = find_head(context.active_object)
    if head is None:
        heads = _heads(context.scene)
        if len(heads) == 1:
            head = heads[0]
    if head is None:
        raise ReviveError("No Revive head is selected.",
                          "Import an avatar first (Revive > Import Avatar), or select its head.")
    return head


def _select(context, obj: bpy.types.Object) -> None:
    for other in context.view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj


def _import_avatar(context, path: Path) -> bpy.types.Object:
    avatar = read_avatar(path)
    head = import_avatar(avatar, scene=context.scene)
    head[PROP_AVATAR_PATH] = str(path)
    _select(context, head)
    return head


def _apply_take(context, head: bpy.types.Object, path: Path) -> None:
    scene = context.scene
    take = read_take(path)
    apply_take(head, take, scene=scene, subtitles=scene.revive.subtitles)
    head[PROP_TAKE_PATH] = str(path)
    if scene.camera is None or scene.revive.mode == "portrait":  # portrait: calmer head motion
        _stage_from_settings(scene, head)


def _revive_command() -> str:
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    command = prefs.command()
    if command is None:
        raise ReviveError("The revive command was not found.",
                          "Install Revive, or set the path of its `revive` program in "
                          "Edit > Preferences > Add-ons > Revive.")
    return command


def _start_job(operator: Operator, context, command: list[str], title: str, done) -> set[str]:
    """Run ``command``; when it ends well call ``done(status)``, which may return a message for
    the person. Waits for the command in background mode (scripts, ``blender -b``)."""
    if _job.get("job") is not None and _job["job"].poll().running:
        raise ReviveError("Revive is still busy with another step.",
                          "Wait for it to finish, or stop it (Revive > Stop).")
    job = Job(command, title)
    if bpy.app.background or not context.window_manager.windows:
        status = job.wait()
        if status.exit_code != 0:
            raise ReviveError(f"{title} failed: {status.error}")
        operator.report({"INFO"}, done(status) or f"{title}: done.")
        return {"FINISHED"}
    _job.update(job=job, done=done)
    bpy.ops.revive.watch_job("INVOKE_DEFAULT")
    operator.report({"INFO"}, f"{title}: started; Esc or Revive > Stop cancels it.")
    return {"FINISHED"}


# --- importing -------------------------------------------------------------------------------

class REVIVE_OT_import_avatar(Operator):
    """Import a Revive avatar (a folder, its avatar.json, or a zip) as a textured, rigged head"""

    bl_idname = "revive.import_avatar"
    bl_label = "Import Avatar"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.zip;avatar.json", options={"HIDDEN"})
    add_stage: BoolProperty(name="Add camera and lights", default=True)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            head = _import_avatar(context, _chosen_path(self.filepath, self.directory,
                                                        "avatar.json", "avatar"))
            if self.add_stage:
                _stage_from_settings(context.scene, head)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        self.report({"INFO"}, f"Imported {head.name}: {len(head.data.vertices)} vertices, "
                              f"{len(head.data.shape_keys.key_blocks) - 1} shape keys.")
        return {"FINISHED"}


class REVIVE_OT_import_take(Operator):
    """Animate the selected Revive head with a take (a folder, its take.json, or a zip)"""

    bl_idname = "revive.import_take"
    bl_label = "Import Take"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.zip;take.json", options={"HIDDEN"})

    def invoke(self, context, event):
        try:
            _target_head(context)
        except ReviveError as exc:
            return _error(self, exc)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            head = _target_head(context)
            _apply_take(context, head, _chosen_path(self.filepath, self.directory, "take.json",
                                                    "take"))
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        self.report({"INFO"}, f"Applied a take of {context.scene.frame_end} frames to "
                              f"{head.name} as layers (Mouth, Emotion, Blinks and gaze, Head "
                              "motion).")
        return {"FINISHED"}


class REVIVE_OT_setup_stage(Operator):
    """Add (or redo) the camera, lights, background and AI-generated label"""

    bl_idname = "revive.setup_stage"
    bl_label = "Set Up Stage"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            _stage_from_settings(context.scene, _target_head(context))
        except ReviveError as exc:
            return _error(self, exc)
        return {"FINISHED"}


# --- rendering -------------------------------------------------------------------------------

class REVIVE_OT_render_video(Operator):
    """Render the scene's frames into a frame cache beside the video, then the MP4 (H.264 +
    AAC) with the label"""

    bl_idname = "revive.render_video"
    bl_label = "Render Video"

    filepath: StringProperty(subtype="FILE_PATH", default="")
    filter_glob: StringProperty(default="*.mp4", options={"HIDDEN"})
    check_existing: BoolProperty(default=True, options={"HIDDEN"})
    resume: BoolProperty(name="Resume", default=False,
                         description="Keep frames already in the frame cache (only when nothing "
                                     "in the scene changed since they were rendered)")

    def invoke(self, context, event):
        if not self.filepath:
            stem = Path(bpy.data.filepath).stem if bpy.data.filepath else "revive"
            self.filepath = str(Path(bpy.path.abspath("//")) / f"{stem}.mp4") \
                if bpy.data.filepath else str(Path.home() / f"{stem}.mp4")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        scene = context.scene
        settings = scene.revive
        try:
            if not _heads(scene):
                raise ReviveError("There is no Revive head in this scene.",
                                  "Import an avatar and a take first.")
            if scene.camera is None:
                raise ReviveError("The scene has no camera.", "Use Revive > Set Up Stage.")
            out = Path(bpy.path.abspath(self.filepath or "//revive.mp4"))
            if out.suffix.lower() != ".mp4":
                out = out.with_name(out.name + ".mp4")
            out.parent.mkdir(parents=True, exist_ok=True)
            device = configure_render(scene, engine=settings.engine, device=settings.device,
                                      preset=settings.preset, samples=settings.samples or None)
            cache = frame_cache(out)
            open_cache(cache, self._key(scene, settings))
            record_device(cache, device)
            start, end = scene.frame_start, scene.frame_end
            render = {"engine": settings.engine, "preset": settings.preset,
                      "samples": scene.cycles.samples if settings.engine == "cycles" else None}
            if bpy.app.background:  # blocking
                render_frames(scene, cache, start, end)
                encode_video(scene, cache, start, end, out,
                             render={**render, "devices": cached_devices(cache)})
                shutil.rmtree(cache, ignore_errors=True)
            else:  # Blender's render window shows progress and can cancel
                frame_output(scene, cache)
                _encode_when_done(scene, cache, start, end, out, render)
                bpy.ops.render.render("INVOKE_DEFAULT", animation=True)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        settings.last_device = device
        self.report({"INFO"}, f"Rendering {out.name} with {settings.engine} on {device}.")
        return {"FINISHED"}

    def _key(self, scene, settings) -> dict:
        key = {"format": "revive.frames", "version": 1, "addon": list(VERSION),
               "file": bpy.data.filepath, "scene": scene.name,
               "resolution": [scene.render.resolution_x, scene.render.resolution_y],
               "engine": settings.engine, "preset": settings.preset, "samples": settings.samples}
        if not self.resume:
            key["render"] = str(uuid.uuid4())  # a fresh cache: the scene may have changed
        return key


def _encode_when_done(scene, cache: Path, start: int, end: int, out: Path,
                      render: dict) -> None:
    """Encode the video once the interactive render of the frames completes."""
    def encode() -> None:
        try:
            encode_video(scene, cache, start, end, out,
                         render={**render, "devices": cached_devices(cache)})
            shutil.rmtree(cache, ignore_errors=True)
            print(wrote_line(out))
        except ReviveError as exc:
            print(f"Revive: {exc.message} {exc.hint}")
        return None

    def done(*_args) -> None:
        _forget()
        bpy.app.timers.register(encode, first_interval=0.1)  # after the render job has ended

    def _forget(*_args) -> None:
        for handlers in (bpy.app.handlers.render_complete, bpy.app.handlers.render_cancel):
            for handler in (done, _forget):
                if handler in handlers:
                    handlers.remove(handler)

    bpy.app.handlers.render_complete.append(done)
    bpy.app.handlers.render_cancel.append(_forget)


# --- background jobs: build, speak, preview --------------------------------------------------

class REVIVE_OT_build_avatar(Operator):
    """Build an avatar from photos of one person with `revive build` (needs a consent record),
    then import it"""

    bl_idname = "revive.build_avatar"
    bl_label = "Build Avatar from Photos"

    files: CollectionProperty(type=OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"})
    out_dir: StringProperty(name="Avatar folder", subtype="DIR_PATH",
                            description="Where to write the avatar; beside the photos when empty")
    filter_glob: StringProperty(default="*.jpg;*.jpeg;*.png;*.webp;*.tif;*.tiff",
                                options={"HIDDEN"})

    def invoke(self, context, event):
        if not context.scene.revive.consent.strip():
            return _error(self, ReviveError(
                "An avatar is built only with a consent record.",
                "Fill in Consent (who authorised it, relationship, date) in the Revive panel."))
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            consent = context.scene.revive.consent.strip()
            if not consent:
                raise ReviveError("An avatar is built only with a consent record.",
                                  "Fill in Consent in the Revive panel.")
            folder = Path(bpy.path.abspath(self.directory or "//"))
            photos = [str(folder / f.name) for f in self.files if f.name]
            if not photos:
                raise ReviveError("No photos were chosen.", "Choose one or more photos.")
            out = Path(bpy.path.abspath(self.out_dir)) if self.out_dir else \
                folder / f"{Path(photos[0]).stem}_avatar"
            command = [_revive_command(), "build", *photos, "--out", str(out),
                       "--consent", consent]

            def done(_status) -> str:
                head = _import_avatar(bpy.context, out)
                _stage_from_settings(bpy.context.scene, head)
                return f"Built and imported {head.name} (from {out})."

            return _start_job(self, context, command, "Building the avatar", done)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)


class REVIVE_OT_speak_line(Operator):
    """Make a take with `revive say` (a written line, the persona's answer to a prompt, or a
    recording lip-synced), then apply it to the selected head"""

    bl_idname = "revive.speak_line"
    bl_label = "Speak Line"

    def execute(self, context):
        settings = context.scene.revive
        try:
            head = _target_head(context)
            avatar = head.get(PROP_AVATAR_PATH)
            if not avatar:
                raise ReviveError(f"{head.name} was not imported from an avatar folder.",
                                  "Import it with Revive > Import Avatar first.")
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = Path(f"{avatar}.takes") / stamp
            command = [_revive_command(), "say", avatar, *_line_arguments(settings),
                       "--lang", settings.language, "--emotion", settings.emotion,
                       "--out", str(out)]
            head_name = head.name

            def done(_status) -> str:
                target = bpy.data.objects.get(head_name)
                if target is None:
                    raise ReviveError(f"The head {head_name} is gone.")
                _apply_take(bpy.context, target, out)
                return f"The line is spoken; its take ({out}) is applied to {head_name}."

            return _start_job(self, context, command, "Speaking the line", done)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)


def _line_arguments(settings) -> list[str]:
    """`revive say` arguments for the panel's line: text, persona and prompt, or recording."""
    line = settings.line_text.strip()
    if settings.line_source == "audio":
        if not settings.audio_file:
            raise ReviveError("No recording was chosen.", "Choose the voice recording first.")
        return ["--audio", bpy.path.abspath(settings.audio_file)] + (
            ["--transcript", line] if line else [])
    if not line:
        raise ReviveError("The Line field is empty.",
                          "Write what the avatar says (or, for a persona, what you ask).")
    if settings.line_source == "persona":
        if not settings.persona_dir:
            raise ReviveError("No persona folder was chosen.",
                              "Make one with `revive persona import` and choose it.")
        return ["--persona", bpy.path.abspath(settings.persona_dir), "--prompt", line]
    return ["--text", line]


class REVIVE_OT_preview(Operator):
    """A quick preview video of the head's avatar and take with `revive preview` (pyrender,
    no Blender render)"""

    bl_idname = "revive.preview"
    bl_label = "Quick Preview"

    def execute(self, context):
        try:
            head = _target_head(context)
            avatar, take = head.get(PROP_AVATAR_PATH), head.get(PROP_TAKE_PATH)
            if not (avatar and take):
                raise ReviveError("The preview needs the avatar and take folders.",
                                  "Import both with Revive (or speak a line) first.")
            out = Path(take) / "preview.mp4"
            settings = context.scene.revive
            command = [_revive_command(), "preview", avatar, take, "--out", str(out),
                       "--label-position", settings.label_position,
                       "--label-size", f"{settings.label_size:g}"]
            if not settings.visible_label:
                command.append("--no-visible-label")

            def done(_status) -> str:
                return f"Preview written to {out}."

            return _start_job(self, context, command, "Making the preview", done)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)


class REVIVE_OT_watch_job(Operator):
    """Follow the background job: progress in the status bar, Esc stops it"""

    bl_idname = "revive.watch_job"
    bl_label = "Revive Job"

    _timer = None

    def invoke(self, context, event):
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0.0, 1.0)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = _job.get("job")
        if job is None:
            return self._end(context, {"CANCELLED"})
        if event.type == "ESC":
            job.cancel()
        if event.type != "TIMER" and event.type != "ESC":
            return {"PASS_THROUGH"}
        status = job.poll()
        context.window_manager.progress_update(status.fraction or 0.0)
        context.workspace.status_text_set(f"Revive: {status.message} (Esc stops)")
        for area in context.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()
        if status.running:
            return {"RUNNING_MODAL"}
        done = _job.get("done")
        _job.update(done=None)
        if job.cancelled:
            self.report({"WARNING"}, f"{job.title}: stopped.")
        elif status.exit_code != 0:
            self.report({"ERROR"}, f"{job.title} failed: {status.error}")
        else:
            try:
                message = done(status) if done is not None else None
                self.report({"INFO"}, message or f"{job.title}: done.")
            except (ReviveError, OSError) as exc:
                _error(self, exc)
        return self._end(context, {"FINISHED"})

    def _end(self, context, result):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        return result


class REVIVE_OT_stop_job(Operator):
    """Stop the running Revive step (nothing half-written is left)"""

    bl_idname = "revive.stop_job"
    bl_label = "Stop"

    @classmethod
    def poll(cls, context):
        return _job.get("job") is not None and _job["job"].poll().running

    def execute(self, context):
        _job["job"].cancel()
        return {"FINISHED"}


# --- the face --------------------------------------------------------------------------------

def _controls(context) -> bpy.types.Object:
    controls = find_controls(_target_head(context))
    if controls is None:
        raise ReviveError("This head has no face controls.",
                          "Import it again with this version of Revive.")
    return controls


def _control_names(controls) -> list[str]:
    return [n for _, names in control_groups(controls) for n in names]


class REVIVE_OT_reset_face(Operator):
    """Set every face control back to 0 (the rest face)"""

    bl_idname = "revive.reset_face"
    bl_label = "Reset Face"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            controls = _controls(context)
        except ReviveError as exc:
            return _error(self, exc)
        for name in _control_names(controls):
            controls[name] = 0.0
        controls.update_tag()
        return {"FINISHED"}


class REVIVE_OT_key_face(Operator):
    """Keyframe every face control at the current frame (on top of the take's layers)"""

    bl_idname = "revive.key_face"
    bl_label = "Key Face Pose"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            controls = _controls(context)
        except ReviveError as exc:
            return _error(self, exc)
        frame = context.scene.frame_current
        for name in _control_names(controls):
            controls.keyframe_insert(data_path=f'["{name}"]', frame=frame, group="Face pose")
        return {"FINISHED"}


OPERATORS = (
    REVIVE_OT_import_avatar,
    REVIVE_OT_import_take,
    REVIVE_OT_setup_stage,
    REVIVE_OT_render_video,
    REVIVE_OT_build_avatar,
    REVIVE_OT_speak_line,
    REVIVE_OT_preview,
    REVIVE_OT_watch_job,
    REVIVE_OT_stop_job,
    REVIVE_OT_reset_face,
    REVIVE_OT_key_face,
)
