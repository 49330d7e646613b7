"""load -> validate: read mlops.yaml, check it against the models, then the semantic rules.

Every problem is collected and raised once as a `SpecError` of located diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .errors import Diagnostic, SpecError
from .limits import max_bytes, oversize
from .messages import clean_loc, describe_value, diagnostics_for
from .models import Spec
from .semantic import check
from .yaml_source import SourceMap, parse_yaml

DEFAULT_SPEC = "mlops.yaml"


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec, where it came from, and where each of its values was written."""

    spec: Spec
    path: Path
    source: SourceMap
    text: str

    @property
    def root(self) -> Path:
        """The spec's folder: every relative path in the spec is relative to it."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        return self.root / relative


def read_spec_text(path: Path, display: str) -> str:
    """The file's text, or a located error for a missing, unreadable or binary file."""
    def fail(message: str) -> SpecError:
        return SpecError([Diagnostic(display, 1, 1, "", message)])

    if path.is_dir():
        raise fail("is a directory; expected an mlops.yaml file")
    limit = max_bytes()
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)  # never more than the limit into memory
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror}") from None
    if (too_big := oversize(raw, display, limit)) is not None:
        raise SpecError([too_big])
    if b"\x00" in raw:
        raise fail("not a text file (it contains NUL bytes); expected YAML")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        col = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError([Diagnostic(display, line, col, "",
                                    f"not UTF-8 text (byte 0x{raw[error.start]:02x}); "
                                    "expected YAML")]) from None


def load_spec(path: Path | str = DEFAULT_SPEC, *, check_files: bool = True) -> LoadedSpec:
    """Load, validate and semantically check a spec file; raises SpecError with every problem."""
    path = Path(path)
    display = str(path)
    text = read_spec_text(path, display)
    return validate_text(text, path, display=display, check_files=check_files)


def validate_text(text: str, path: Path, *, display: str, check_files: bool = True) -> LoadedSpec:
    """Validate spec text as if it were the file at `path`."""
    parsed = parse_yaml(text, display)
    problems = list(parsed.problems)
    if parsed.data is None and not problems:
        problems.append(Diagnostic(display, 1, 1, "",
                                   "the file is empty; expected a mapping with version, name, "
                                   "data, model and deploy (run 'mlops init' for a starter)"))
    if problems and parsed.data is None:
        raise SpecError(problems)
    if not isinstance(parsed.data, dict):
        raise SpecError([parsed.source.diagnostic(
            (), f"expected a mapping at the top level, got {describe_value(parsed.data)}")])
    try:
        spec = Spec.model_validate(parsed.data)
    except ValidationError as error:
        problems.extend(_diagnostics(error, parsed.source))
        raise SpecError(problems) from None
    if problems:
        raise SpecError(problems)
    root = path.parent
    findings = check(spec, root, files=check_files)
    if findings:
        raise SpecError(parsed.source.diagnostic(where, message) for where, message in findings)
    return LoadedSpec(spec, path, parsed.source, text)


def _diagnostics(error: ValidationError, source: SourceMap) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    result = []
    for detail in error.errors(include_url=False):
        loc = clean_loc(tuple(detail["loc"]))
        if loc in seen:
            continue
        seen.add(loc)
        result.extend(diagnostics_for(detail, loc, Spec, source))
    return result
