"""Reading media files: what they hold, and when, where and on what they were shot."""

from rushes.media.probe import (
    Device,
    Location,
    MediaInfo,
    Size,
    StreamInfo,
    probe,
    strip_sensitive,
)

__all__ = ["Device", "Location", "MediaInfo", "Size", "StreamInfo", "probe", "strip_sensitive"]
