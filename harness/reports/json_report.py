"""The JSON report: the `Report` model itself, with its schema version, for re-rendering later."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mlops.core.errors import MlopsError

from ..result import SCHEMA_VERSION, Report


def to_json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"


def from_json(text: str, display: str) -> Report:
    """Parse a saved report; a located MlopsError if it is not one this version can read."""
    try:
        report = Report.model_validate_json(text)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        location = f" at {where}" if where else ""
        raise MlopsError(f"{display}: not an mlops gate report{location}: {first['msg']}") from None
    if report.schema_version > SCHEMA_VERSION:
        raise MlopsError(f"{display}: report schema version {report.schema_version} is newer than "
                         f"this mlops understands ({SCHEMA_VERSION}); upgrade mlops")
    return report


def read_report(path: Path) -> Report:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MlopsError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MlopsError(f"{path}: cannot read the file: {error}") from None
    return from_json(text, str(path))
