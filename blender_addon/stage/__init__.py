"""The scene around an imported head: the take's performance and the stage it plays on.

- ``performance`` the take as NLA layers (mouth, emotion, blinks and gaze, head motion), the
  voice and subtitles;
- ``stage`` camera, lights, background and the "AI-generated" label;
- ``scene`` the one entry point that builds head, performance and stage together.
"""
