"""Reading media files: what they hold, and when, where and on what they were shot.

Each module is imported on its own (`rushes.media.probe`, `.fingerprint`, …), so a command that
needs only orientation names or C2PA does not load PyAV and NumPy.
"""
