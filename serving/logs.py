"""Structured JSON logs on stdout: one object per line, for the access log and for uvicorn's own.

Access lines are written directly (no logging module on the hot path); everything else goes
through `logging` with `JsonFormatter`, so container log collectors parse one format.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import orjson

STDOUT = 1


_second: tuple[int, str] = (-1, "")
"""The last whole second formatted: strftime costs ~10 us (glibc looks up the time zone on every
call), which an access line per request should pay once a second, not once a request."""


def _timestamp(seconds: float) -> str:
    global _second
    whole = int(seconds)
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int(seconds % 1 * 1000):03d}Z"


def write_line(record: dict[str, Any]) -> None:
    """One JSON line to stdout with a single write, so lines of several workers never interleave."""
    os.write(STDOUT, orjson.dumps(record) + b"\n")


def access(model: str, method: str, path: str, status: int, seconds: float, request_id: str,
           client: str, rows: int) -> None:
    write_line({"time": _timestamp(time.time()), "level": "info", "event": "access",
                "model": model, "method": method, "path": path, "status": status,
                "duration_ms": round(seconds * 1000, 3), "request_id": request_id,
                "client": client, "rows": rows})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _timestamp(record.created),
                                 "level": record.levelname.lower(), "logger": record.name,
                                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's `log_config`: its loggers, ours, all JSON on stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stdout"}},
        "loggers": {name: {"handlers": ["stdout"], "level": level.upper(), "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "mlops.serve")},
    }
