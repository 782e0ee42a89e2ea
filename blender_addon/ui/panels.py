"""Revive's user interface in Blender: the sidebar panels, their settings, the preferences.

The panels show what the operators (``operators``) do and hold the settings they read. The
settings live on the scene (``scene.revive``), so they are saved with the .blend file.

Classes
-------
REVIVE_PT_panel           View3D > Sidebar > Revive: import an avatar and a take
REVIVE_PT_create          build an avatar from photos, speak a line, a quick preview
REVIVE_PT_face            the face controls, grouped, with reset and key
REVIVE_PT_layers          the take's layers (NLA tracks): show or mute each
REVIVE_PT_render          stage (mode, framing, light, background, label) and render
ReviveScenePreferences    the panels' settings (``scene.revive``)
ReviveAddonPreferences    the path of the ``revive`` command (found on PATH automatically)
"""
from __future__ import annotations

import json
import os
import shutil

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)
from bpy.types import AddonPreferences, Panel, PropertyGroup

from ..about import PACKAGE
from ..imp.head import PROP_AVATAR, find_head, head_pivot
from ..imp.rig import control_groups, find_controls
from ..revive_formats.label import DEFAULT_SIZE, LABEL_POSITIONS
from ..stage.performance import HEAD_TRACK, LAYER_TRACKS
from ..stage.stage import PROP_STAGE
from .operators import (OPERATORS, REVIVE_OT_build_avatar, REVIVE_OT_import_avatar,
                        REVIVE_OT_import_take, REVIVE_OT_key_face, REVIVE_OT_preview,
                        REVIVE_OT_render_video, REVIVE_OT_reset_face, REVIVE_OT_setup_stage,
                        REVIVE_OT_speak_line, REVIVE_OT_stop_job, current_job,
                        stop_current_job)

__all__ = ["register", "unregister"]


# --- preferences and settings ----------------------------------------------------------------

class ReviveAddonPreferences(AddonPreferences):
    bl_idname = PACKAGE

    revive_command: StringProperty(
        name="revive command",
        description="The Revive command line program, used for the heavy stages (building an "
                    "avatar, speech, previews); found on PATH when left empty",
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


def _items(*pairs):
    return [(key, title, description) for key, title, description in pairs]


class ReviveScenePreferences(PropertyGroup):
    engine: EnumProperty(name="Engine", default="cycles", items=_items(
        ("cycles", "Cycles", "Path tracing: best skin, GPU when there is one"),
        ("eevee", "EEVEE", "Real time, needs OpenGL"),
        ("workbench", "Workbench", "Quick previews, no textures lit")))
    device: EnumProperty(name="Device", default="auto", items=_items(
        ("auto", "Auto", "A GPU when Cycles finds one (OptiX, CUDA, HIP, oneAPI, Metal), "
                         "else the CPU"),
        ("cpu", "CPU", "The CPU only"),
        ("gpu", "GPU", "A GPU; fail when there is none")))
    preset: EnumProperty(name="Quality", default="preview", items=_items(
        ("preview", "Preview", "8 samples, denoised"),
        ("final", "Final", "128 samples, denoised when Blender has OpenImageDenoise")))
    samples: IntProperty(name="Samples", default=0, min=0, max=65536, soft_max=1024,
                         description="Samples per pixel; 0 uses the quality preset's")
    mode: EnumProperty(name="Mode", default="studio", items=_items(
        ("studio", "Studio", "The head on a stage: framing, lights, background"),
        ("portrait", "Portrait", "The photo itself speaks, seen through its own camera")))
    framing: EnumProperty(name="Framing", default="close-up", items=_items(
        ("close-up", "Close-up", "The face fills the frame"),
        ("portrait", "Portrait", "The head with room around it"),
        ("shoulders", "Shoulders", "Head and shoulders' room")))
    light: EnumProperty(name="Light", default="studio", items=_items(
        ("studio", "Studio", "Key, fill and rim lights"),
        ("photo", "Photo", "Matched to the photo's estimated lighting (when the avatar has it)")))
    background: EnumProperty(name="Background", default="auto", items=_items(
        ("auto", "Auto", "Dark in the studio, the photo in portrait mode"),
        ("dark", "Dark", "Near black"), ("light", "Light", "Light grey"),
        ("transparent", "Transparent", "Alpha in the frames (the video shows black)"),
        ("photo", "Photo", "The portrait photo behind the head")))
    subtitles: BoolProperty(name="Subtitles", default=False,
                            description="Add the take's subtitles as text strips (they are "
                                        "burnt into the video)")
    visible_label: BoolProperty(
        name="Visible AI-generated label", default=True,
        description="Show \"AI-generated\" in a corner of the video. Videos of people made by "
                    "AI should say so; the metadata says it in any case")
    label_position: EnumProperty(name="Label corner", default="bottom-right", items=[
        (p, p.replace("-", " ").capitalize(), "") for p in LABEL_POSITIONS])
    label_size: FloatProperty(name="Label size", default=DEFAULT_SIZE, min=0.01, max=0.25,
                              description="The label's text height as a share of the frame's")
    consent: StringProperty(name="Consent", description="Who authorised this avatar, their "
                            "relationship, the date: \"Mei Chen, daughter, 2026-11-28\"")
    line_source: EnumProperty(name="Line from", default="text", items=_items(
        ("text", "Written", "Say the words written in Line"),
        ("persona", "Persona", "Generate the answer the person would give to Line (a prompt), "
                               "in their own way of speaking, from a persona folder"),
        ("audio", "Recording", "Lip-sync a recording of their voice (Line: its transcript, or "
                               "empty to transcribe it offline)")))
    line_text: StringProperty(name="Line", description="What the avatar says, the prompt for "
                              "the persona, or the recording's transcript")
    persona_dir: StringProperty(name="Persona", subtype="DIR_PATH",
                                description="A persona folder made by `revive persona import`")
    audio_file: StringProperty(name="Recording", subtype="FILE_PATH",
                               description="WAV, MP3, M4A, AMR or SILK")
    language: EnumProperty(name="Language", default="auto", items=_items(
        ("auto", "Auto", "From the text"), ("en", "English", ""), ("zh", "Chinese", "")))
    emotion: EnumProperty(name="Emotion", default="auto", items=[
        (e, e.capitalize(), "") for e in ("auto", "neutral", "joy", "sadness", "anger", "fear",
                                          "surprise", "disgust")])
    last_device: StringProperty(name="Last device", default="")


# --- panels ----------------------------------------------------------------------------------

class _RevivePanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Revive"


class REVIVE_PT_panel(_RevivePanel, Panel):
    bl_idname = "REVIVE_PT_panel"
    bl_label = "Revive"

    def draw(self, context) -> None:
        layout = self.layout
        scene = context.scene
        layout.operator(REVIVE_OT_import_avatar.bl_idname, icon="IMPORT")
        head = find_head(context.active_object)
        if head is not None:
            box = layout.box()
            box.label(text=f"{head.get(PROP_AVATAR, head.name)}", icon="USER")
            box.label(text=f"{len(head.data.vertices)} vertices, "
                           f"{len(head.data.shape_keys.key_blocks) - 1} shape keys")
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


class REVIVE_PT_create(_RevivePanel, Panel):
    bl_idname = "REVIVE_PT_create"
    bl_label = "Create"
    bl_parent_id = "REVIVE_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context) -> None:
        layout = self.layout
        settings = context.scene.revive
        layout.prop(settings, "consent")
        layout.operator(REVIVE_OT_build_avatar.bl_idname, icon="OUTLINER_OB_ARMATURE")
        layout.separator()
        layout.prop(settings, "line_source", expand=True)
        if settings.line_source == "persona":
            layout.prop(settings, "persona_dir")
        elif settings.line_source == "audio":
            layout.prop(settings, "audio_file")
        layout.prop(settings, "line_text")
        row = layout.row()
        row.prop(settings, "language", text="")
        row.prop(settings, "emotion", text="")
        layout.operator(REVIVE_OT_speak_line.bl_idname, icon="PLAY_SOUND")
        layout.operator(REVIVE_OT_preview.bl_idname, icon="FILE_MOVIE")
        job = current_job()
        if job is not None:
            status = job.poll()
            box = layout.box()
            box.label(text=f"{job.title}: {status.message}",
                      icon="SORTTIME" if status.running else "INFO")
            if status.running:
                box.operator(REVIVE_OT_stop_job.bl_idname, icon="CANCEL")


class REVIVE_PT_face(_RevivePanel, Panel):
    bl_idname = "REVIVE_PT_face"
    bl_label = "Face Controls"
    bl_parent_id = "REVIVE_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        head = find_head(context.active_object)
        return head is not None and find_controls(head) is not None

    def draw(self, context) -> None:
        layout = self.layout
        controls = find_controls(find_head(context.active_object))
        row = layout.row(align=True)
        row.operator(REVIVE_OT_reset_face.bl_idname, icon="LOOP_BACK")
        row.operator(REVIVE_OT_key_face.bl_idname, icon="KEY_HLT")
        for title, names in control_groups(controls):
            box = layout.box()
            box.label(text=title)
            column = box.column(align=True)
            for name in names:
                column.prop(controls, f'["{name}"]', text=name, slider=True)


class REVIVE_PT_layers(_RevivePanel, Panel):
    bl_idname = "REVIVE_PT_layers"
    bl_label = "Take Layers"
    bl_parent_id = "REVIVE_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return find_head(context.active_object) is not None

    def draw(self, context) -> None:
        layout = self.layout
        head = find_head(context.active_object)
        controls = find_controls(head)
        pivot = head_pivot(head)
        tracks = []
        for owner, titles in ((controls, [t for t, _ in LAYER_TRACKS.values()]),
                              (pivot, [HEAD_TRACK])):
            animation = owner.animation_data if owner is not None else None
            for title in titles:
                track = animation.nla_tracks.get(title) if animation is not None else None
                if track is not None:
                    tracks.append(track)
        if not tracks:
            layout.label(text="Import a take to get its layers.")
            return
        layout.label(text="Edit a layer in the NLA editor (Tab on its strip).")
        for track in tracks:
            row = layout.row()
            row.prop(track, "mute", text="", invert_checkbox=True,
                     icon="HIDE_ON" if track.mute else "HIDE_OFF", emboss=False)
            row.label(text=track.name)
            if track.strips:
                row.prop(track.strips[0], "blend_type", text="")


class REVIVE_PT_render(_RevivePanel, Panel):
    bl_idname = "REVIVE_PT_render"
    bl_label = "Stage and Render"
    bl_parent_id = "REVIVE_PT_panel"

    def draw(self, context) -> None:
        layout = self.layout
        scene = context.scene
        settings = scene.revive
        col = layout.column()
        col.prop(settings, "mode")
        studio = col.column()
        studio.enabled = settings.mode == "studio"
        studio.prop(settings, "framing")
        studio.prop(settings, "light")
        col.prop(settings, "background")
        col.prop(settings, "subtitles")
        sub = col.column(align=True)
        sub.prop(scene.render, "resolution_x", text="Resolution X")
        sub.prop(scene.render, "resolution_y", text="Y")
        col.prop(settings, "visible_label")
        if settings.visible_label:
            row = col.row()
            row.prop(settings, "label_position", text="")
            row.prop(settings, "label_size", text="Size")
        else:
            col.label(text="No visible AI-generated mark", icon="ERROR")
        layout.operator(REVIVE_OT_setup_stage.bl_idname, icon="CAMERA_DATA")
        col = layout.column(heading="Render")
        col.prop(settings, "engine")
        row = col.row()
        row.prop(settings, "device")
        row.enabled = settings.engine == "cycles"
        col.prop(settings, "preset")
        col.prop(settings, "samples")
        layout.operator(REVIVE_OT_render_video.bl_idname, icon="RENDER_ANIMATION")
        if settings.last_device:
            layout.label(text=f"Last render on {settings.last_device}")
        if scene.get(PROP_STAGE):
            stage = json.loads(scene[PROP_STAGE])
            layout.label(text=f"Stage: {stage['mode']}, {stage['background']} background")


def _consent_by(head: bpy.types.Object) -> str:
    try:
        return str(json.loads(head.get("revive_consent", "{}")).get("authorised_by", ""))
    except (TypeError, ValueError, AttributeError):
        return ""



CLASSES = (
    ReviveAddonPreferences,
    ReviveScenePreferences,
    *OPERATORS,
    REVIVE_PT_panel,
    REVIVE_PT_create,
    REVIVE_PT_face,
    REVIVE_PT_layers,
    REVIVE_PT_render,
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.revive = PointerProperty(type=ReviveScenePreferences)


def unregister() -> None:
    stop_current_job()
    del bpy.types.Scene.revive
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
