"""Field uploads: a tus 1.0 server whose finished uploads enter the vault or become proxies."""

from rushes.upload.intake import PROXY, Rejected, finish
from rushes.upload.server import create_upload_app
from rushes.upload.store import EXPIRY, Info, Outcome, Upload, UploadStore

__all__ = [
    "EXPIRY",
    "PROXY",
    "Info",
    "Outcome",
    "Rejected",
    "Upload",
    "UploadStore",
    "create_upload_app",
    "finish",
]
