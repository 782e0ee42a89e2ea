"""Revive's user interface in Blender: panels and preferences, operators, background jobs.

- ``panels`` the sidebar panels, their settings and the add-on preferences (and registration);
- ``operators`` what the panels run: import, stage, render, build, speak, preview;
- ``jobs`` the ``revive`` command in a background subprocess, with its progress.
"""
