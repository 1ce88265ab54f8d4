"""The catalog: what each original is, where it came from, and its custody events."""

from rushes.catalog.database import Catalog, open_catalog
from rushes.catalog.models import Arrival, Asset, CustodyEvent, CustodyHead, Project, utcnow

__all__ = [
    "Arrival",
    "Asset",
    "Catalog",
    "CustodyEvent",
    "CustodyHead",
    "Project",
    "open_catalog",
    "utcnow",
]
