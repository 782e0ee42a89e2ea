"""Revive's user interface in Blender: the sidebar panel, its operators and the preferences.

The operators only read what the person chose and call ``scene`` and ``render_settings``; a
ReviveError (a wrong folder, a take for no head, no GPU) becomes an error report with its hint,
never a traceback.

Classes
-------
REVIVE_OT_import_avatar   file browser on an avatar folder (or its avatar.json) or zip
REVIVE_OT_import_take     a take folder or zip, applied to the active Revive head
REVIVE_OT_setup_stage     camera, lights and label again (after changing framing or resolution)
REVIVE_OT_render_video    render the animation to an MP4 with the panel's settings
REVIVE_PT_panel           View3D > Sidebar > Revive
ReviveScenePreferences    the panel's settings, stored on the scene (``scene.revive``)
ReviveAddonPreferences    the path of the ``revive`` command (found on PATH automatically)
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty
from bpy.types import AddonPreferences, Operator, Panel, PropertyGroup

from .render_settings import configure_render, label_mp4
from .revive_formats import ReviveError, read_avatar, read_take
from .scene import PROP_AVATAR, apply_take, find_head, import_avatar, setup_stage

__all__ = ["register", "unregister"]


def _stage_from_settings(scene, head) -> None:
    """Camera, lights and label as the panel's settings and the scene's resolution say."""
    settings = scene.revive
    setup_stage(scene, head, framing=settings.framing,
                resolution=(scene.render.resolution_x, scene.render.resolution_y),
                visible_label=settings.visible_label)


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


class ReviveAddonPreferences(AddonPreferences):
    bl_idname = __package__

    revive_command: StringProperty(
        name="revive command",
        description="The Revive command line program, used for the heavy stages (building an "
                    "avatar, speech); found on PATH when left empty",
        subtype="FILE_PATH",
        default=shutil.which("revive") or "",
    )

    def draw(self, context) -> None:
        layout = self.layout
        layout.prop(self, "revive_command")
        found = self.command()
        layout.label(text=f"Using {found}" if found else "The revive command was not found.",
                     icon="CHECKMARK" if found else "ERROR")

    def command(self) -> str | None:
        """The ``revive`` command to run: the path set here if it exists, else from PATH."""
        if self.revive_command and os.path.isfile(bpy.path.abspath(self.revive_command)):
            return bpy.path.abspath(self.revive_command)
        return shutil.which("revive")


class ReviveScenePreferences(PropertyGroup):
    engine: EnumProperty(
        name="Engine", default="cycles",
        items=[("cycles", "Cycles", "Path tracing: best skin, GPU when there is one"),
               ("eevee", "EEVEE", "Real time, needs OpenGL"),
               ("workbench", "Workbench", "Quick previews, no textures lit")])
    device: EnumProperty(
        name="Device", default="auto",
        items=[("auto", "Auto", "A GPU when Cycles finds one, else the CPU"),
               ("cpu", "CPU", "The CPU only"),
               ("gpu", "GPU", "A GPU; fail when there is none")])
    samples: IntProperty(name="Samples", default=16, min=1, max=65536, soft_max=1024)
    framing: EnumProperty(
        name="Framing", default="close-up",
        items=[("close-up", "Close-up", "The face fills the frame"),
               ("medium", "Medium", "Room around the head")])
    visible_label: BoolProperty(
        name="Visible AI-generated label", default=True,
        description="Show \"AI-generated\" in the lower-right corner of the video. Videos of "
                    "people made by AI should say so; the metadata says it in any case")
    last_device: StringProperty(name="Last device", default="")


class REVIVE_OT_import_avatar(Operator):
    """Import a Revive avatar (a folder, its avatar.json, or a zip) as a textured head"""

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
        scene = context.scene
        try:
            avatar = read_avatar(_chosen_path(self.filepath, self.directory, "avatar.json",
                                              "avatar"))
            head = import_avatar(avatar, scene=scene)
            if self.add_stage:
                _stage_from_settings(scene, head)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        _select(context, head)
        self.report({"INFO"}, f"Imported {avatar.name}: {avatar.vertex_count} vertices, "
                              f"{len(avatar.blendshape_names)} blendshapes.")
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
        scene = context.scene
        try:
            head = _target_head(context)
            take = read_take(_chosen_path(self.filepath, self.directory, "take.json", "take"))
            apply_take(head, take, scene=scene)  # the audio is packed into the .blend
            if scene.camera is None:
                _stage_from_settings(scene, head)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        self.report({"INFO"}, f"Applied a take of {take.frame_count} frames "
                              f"({take.duration_s:.1f} s) to {head.name}.")
        return {"FINISHED"}


class REVIVE_OT_setup_stage(Operator):
    """Add (or redo) the camera framing the face, the lights and the AI-generated label"""

    bl_idname = "revive.setup_stage"
    bl_label = "Set Up Camera and Lights"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            _stage_from_settings(context.scene, _target_head(context))
        except ReviveError as exc:
            return _error(self, exc)
        return {"FINISHED"}


class REVIVE_OT_render_video(Operator):
    """Render the animation to an MP4 (H.264 + AAC) with the panel's engine, device, samples"""

    bl_idname = "revive.render_video"
    bl_label = "Render Video"

    filepath: StringProperty(subtype="FILE_PATH", default="")
    filter_glob: StringProperty(default="*.mp4", options={"HIDDEN"})
    check_existing: BoolProperty(default=True, options={"HIDDEN"})

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
                raise ReviveError("The scene has no camera.",
                                  "Use Revive > Set Up Camera and Lights.")
            out = Path(bpy.path.abspath(self.filepath or "//revive.mp4"))
            if out.suffix.lower() != ".mp4":
                out = out.with_name(out.name + ".mp4")
            out.parent.mkdir(parents=True, exist_ok=True)
            if bpy.app.background:  # blocking: through a temporary file, renamed when done
                device = self._render_blocking(scene, settings, out)
            else:  # Blender's render window shows progress and can cancel
                device = configure_render(scene, engine=settings.engine, device=settings.device,
                                          samples=settings.samples, out_path=out)
                _label_when_done(out)
                bpy.ops.render.render("INVOKE_DEFAULT", animation=True)
        except (ReviveError, OSError) as exc:
            return _error(self, exc)
        settings.last_device = device
        self.report({"INFO"}, f"Rendering {out.name} with {settings.engine} on {device}.")
        return {"FINISHED"}

    @staticmethod
    def _render_blocking(scene, settings, out: Path) -> str:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
        try:
            partial = folder / "render.mp4"
            device = configure_render(scene, engine=settings.engine, device=settings.device,
                                      samples=settings.samples, out_path=partial)
            try:
                bpy.ops.render.render(animation=True, scene=scene.name)
            except RuntimeError as exc:
                raise ReviveError(f"Blender could not render the video: {exc}".rstrip(),
                                  "Try the CPU, a smaller resolution or fewer samples.") from None
            if not partial.is_file():
                raise ReviveError("Blender finished without writing the video.")
            label_mp4(partial)
            os.replace(partial, out)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return device


def _label_when_done(out: Path) -> None:
    """Write the metadata label into ``out`` once the interactive render completes."""
    def done(*_args) -> None:
        _forget()
        if out.is_file():
            label_mp4(out)

    def _forget(*_args) -> None:
        for handlers in (bpy.app.handlers.render_complete, bpy.app.handlers.render_cancel):
            for handler in (done, _forget):
                if handler in handlers:
                    handlers.remove(handler)

    bpy.app.handlers.render_complete.append(done)
    bpy.app.handlers.render_cancel.append(_forget)


class REVIVE_PT_panel(Panel):
    bl_idname = "REVIVE_PT_panel"
    bl_label = "Revive"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Revive"

    def draw(self, context) -> None:
        layout = self.layout
        scene = context.scene
        settings = scene.revive

        layout.operator(REVIVE_OT_import_avatar.bl_idname, icon="IMPORT")
        head = find_head(context.active_object)
        if head is not None:
            box = layout.box()
            box.label(text=f"{head.get(PROP_AVATAR, head.name)}", icon="USER")
            box.label(text=f"{len(head.data.vertices)} vertices, "
                           f"{len(head.data.shape_keys.key_blocks) - 1} blendshapes")
            authorised = _consent_by(head)
            box.label(text=f"Consent: {authorised}" if authorised else "No consent record",
                      icon="CHECKMARK" if authorised else "ERROR")

        layout.operator(REVIVE_OT_import_take.bl_idname, icon="SOUND")
        if "revive_take_text" in scene:
            box = layout.box()
            text = str(scene["revive_take_text"])
            box.label(text=text if len(text) <= 48 else text[:45] + "...")
            fps = scene.render.fps / scene.render.fps_base
            box.label(text=f"{scene.frame_end - scene.frame_start + 1} frames at {fps:g} fps")

        col = layout.column(heading="Render")
        col.prop(settings, "engine")
        row = col.row()
        row.prop(settings, "device")
        row.enabled = settings.engine == "cycles"
        col.prop(settings, "samples")
        col.prop(settings, "framing")
        sub = col.column(align=True)
        sub.prop(scene.render, "resolution_x", text="Resolution X")
        sub.prop(scene.render, "resolution_y", text="Y")
        col.prop(settings, "visible_label")
        if not settings.visible_label:
            col.label(text="No visible AI-generated mark", icon="ERROR")
        layout.operator(REVIVE_OT_setup_stage.bl_idname, icon="CAMERA_DATA")
        layout.operator(REVIVE_OT_render_video.bl_idname, icon="RENDER_ANIMATION")
        if settings.last_device:
            layout.label(text=f"Last render on {settings.last_device}")


def _consent_by(head: bpy.types.Object) -> str:
    try:
        return str(json.loads(head.get("revive_consent", "{}")).get("authorised_by", ""))
    except (TypeError, ValueError, AttributeError):
        return ""


CLASSES = (
    ReviveAddonPreferences,
    ReviveScenePreferences,
    REVIVE_OT_import_avatar,
    REVIVE_OT_import_take,
    REVIVE_OT_setup_stage,
    REVIVE_OT_render_video,
    REVIVE_PT_panel,
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.revive = PointerProperty(type=ReviveScenePreferences)


def unregister() -> None:
    del bpy.types.Scene.revive
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
