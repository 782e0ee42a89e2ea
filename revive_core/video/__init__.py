"""Video: an Avatar performing a Take, rendered to an MP4 that says it is AI-generated.

Modules
    media       ffmpeg: write H.264 + AAC atomically, probe, burn in the visible mark
    preview     a quick preview rendered offscreen with pyrender (no Blender)
    render      the Blender render, run in a subprocess through the add-on's batch entry
"""
