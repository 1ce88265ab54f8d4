"""Tables of the catalog. Originals live in the vault; the catalog says what they are and who
brought them. The schema is created and upgraded by the Alembic migrations in
`rushes/catalog/migrations`.

Every table is imported here, so importing any part registers them all on the one `Base`:
Alembic sees the whole schema, and relationship() names resolve across the parts."""

from rushes.catalog.models.accounts import (
    ApiToken,
    AuditEvent,
    LoginFailure,
    Membership,
    SetupToken,
    User,
    WebSession,
)
from rushes.catalog.models.base import Base, utcnow
from rushes.catalog.models.custody import CustodyEvent, CustodyHead, Timestamp, TimestampTries
from rushes.catalog.models.incidents import (
    Incident,
    IncidentAsset,
    IncidentChange,
    IncidentLink,
    IncidentType,
    SuggestionDecision,
)
from rushes.catalog.models.originals import Arrival, Asset, ContentCredentials, Project, UploadState
from rushes.catalog.models.processing import (
    Derivative,
    Fingerprint,
    NearDuplicate,
    ShotBoundary,
    StepState,
)
from rushes.catalog.models.review import (
    Assignment,
    AssignmentAsset,
    AssignmentUser,
    GraphicFlag,
    InboxRead,
    Note,
    OriginalRequest,
    Redaction,
    Select,
)
from rushes.catalog.models.search_index import SearchEntry

__all__ = [
    "ApiToken",
    "Arrival",
    "Asset",
    "Assignment",
    "AssignmentAsset",
    "AssignmentUser",
    "AuditEvent",
    "Base",
    "ContentCredentials",
    "CustodyEvent",
    "CustodyHead",
    "Derivative",
    "Fingerprint",
    "GraphicFlag",
    "InboxRead",
    "Incident",
    "IncidentAsset",
    "IncidentChange",
    "IncidentLink",
    "IncidentType",
    "LoginFailure",
    "Membership",
    "NearDuplicate",
    "Note",
    "OriginalRequest",
    "Project",
    "Redaction",
    "SearchEntry",
    "Select",
    "SetupToken",
    "ShotBoundary",
    "StepState",
    "SuggestionDecision",
    "Timestamp",
    "TimestampTries",
    "UploadState",
    "User",
    "WebSession",
    "utcnow",
]
