"""Incidents as CSV (spreadsheets, and back in with `rushes incidents import`), GeoJSON (RFC 7946,
for any GIS tool) and JSON. Each record carries its figures and its clips' SHA-256s, so a
figure quoted from an export can be traced to the footage that shows it. Text in the CSV never
opens as a formula in the spreadsheet of whoever reads it (a title like `=HYPERLINK(…)`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from rushes.errors import InvalidInput
from rushes.exports.text import flat
from rushes.i18n import N_
from rushes.review.incident_fields import FIGURES

FORMATS = {"csv": "text/csv", "geojson": "application/geo+json", "json": "application/json"}
COLUMNS = (
    "code",
    "title",
    "type",
    "started_at",
    "ended_at",
    "place",
    "latitude",
    "longitude",
    "accuracy_m",
    *FIGURES,
    "verification",
    "verified_by",
    "verified_at",
    "description",
    "related",  # codes, space-separated
    "assets",  # sha256:relation, space-separated
)
REQUIRED = ("title", "type", "started_at")
EXPORT_ONLY = ("verified_by", "verified_at")  # set by whoever verifies in this base


# A cell a spreadsheet would run as a formula (OWASP's list): such text gets a leading "'",
# which spreadsheets show as text and `read_csv` takes off again.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA):
        return "'" + value
    return value


def _as_written(value: str) -> str:
    return value[1:] if value.startswith("'") and _inert(value[1:]) != value[1:] else value


def write_csv(records: Sequence[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        row = {name: "" if record[name] is None else _inert(record[name]) for name in COLUMNS[:-2]}
        row["related"] = " ".join(record["related"])
        row["assets"] = " ".join(f"{a['sha256']}:{a['relation']}" for a in record["assets"])
        writer.writerow(row)


def feature_collection(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """RFC 7946: positions are [longitude, latitude]; an incident with no place has no geometry."""
    features = []
    for record in records:
        properties = {k: v for k, v in record.items() if k not in ("latitude", "longitude")}
        located = record["latitude"] is not None and record["longitude"] is not None
        geometry = (
            {"type": "Point", "coordinates": [record["longitude"], record["latitude"]]}
            if located
            else None
        )
        features.append(
            {
                "type": "Feature",
                "id": record["code"],
                "geometry": geometry,
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write(records: Sequence[dict[str, Any]], fmt: str, out: TextIO, project: str) -> None:
    """Write the records in one of FORMATS."""
    if fmt in ("csv", "geojson"):  # read by tools that take a line for a record
        records = [{k: flat(v) if isinstance(v, str) else v for k, v in r.items()} for r in records]
    if fmt == "csv":
        write_csv(records, out)
    elif fmt == "geojson":
        json.dump(feature_collection(records), out, ensure_ascii=False, indent=1)
    elif fmt == "json":
        json.dump(
            {"project": project, "incidents": list(records)}, out, ensure_ascii=False, indent=1
        )
    else:
        raise InvalidInput(N_("format: one of %(formats)s"), formats=", ".join(FORMATS))


def read_csv(stream: TextIO) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, row) for each record of a CSV in the export's columns; for a row that
    cannot be read, (line number, reason).

    The line is where the record starts, as a spreadsheet shows it (quoted fields may span
    lines). Export-only columns are dropped; a missing or unknown column stops the file."""
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InvalidInput(
            N_("line %(line)s: not a CSV header (%(reason)s)"), line=1, reason=exc
        ) from None
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing:
        raise InvalidInput(
            N_(
                "line %(line)s: unknown columns: %(unknown)s; missing columns: %(missing)s"
                " (columns: %(columns)s)"
            ),
            line=1,
            unknown=", ".join(unknown) or "-",
            missing=", ".join(missing) or "-",
            columns=",".join(COLUMNS),
        )
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                N_("line %(line)s: unreadable CSV (%(reason)s); nothing after it read"),
                line=start,
                reason=exc,
            ) from None
        if None in row:
            yield start, f"{len(row[None])} more cell(s) than the header has columns"
        else:
            yield start, {k: _as_written(v) for k, v in row.items() if k not in EXPORT_ONLY}
        start = reader.line_num + 1
