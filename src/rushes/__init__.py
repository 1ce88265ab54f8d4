"""rushes: footage from a besieged city, kept as evidence and reviewed as rushes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rushes")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

TOOL = f"rushes {__version__}"
