"""Load generators for the serving bench: wrk (Debian) and Locust, both as subprocesses."""

from __future__ import annotations

import csv
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import VENV_BIN

HERE = Path(__file__).resolve().parent
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, body_file: Path, connections: int, seconds: int,
        headers: dict[str, str] | None = None) -> LoadResult:
    """One wrk thread (the other core serves), POSTing the same body on every connection: JSON
    unless `headers` say otherwise (e.g. a binary v2 body's content type and header length)."""
    script = body_file.with_suffix(".lua")
    sent = {"Content-Type": "application/json", **(headers or {})}
    script.write_text('wrk.method = "POST"\n'
                      + "".join(f'wrk.headers["{name}"] = "{value}"\n'
                                for name, value in sent.items())
                      + f'local body = io.open("{body_file}", "rb")\n'
                      'wrk.body = body:read("*a")\nbody:close()\n')
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                             "-s", str(script), url], capture_output=True, text=True,
                            check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return LoadResult(rps, p50, p99, count, requests)


def locust(host: str, path: str, body_file: Path, users: int, seconds: int,
           workdir: Path) -> LoadResult:
    """A headless Locust run (FastHttpUser), never imported in-process."""
    prefix = workdir / f"locust-{users}"
    done = subprocess.run([str(VENV_BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
                    "-H", host, "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                    "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                   capture_output=True, text=True, check=False, timeout=seconds + 60,
                   env={"BENCH_PATH": path, "BENCH_BODY_FILE": str(body_file),
                        "PATH": f"{VENV_BIN}:/usr/bin:/bin"})
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    if row["50%"] == "N/A":
        raise RuntimeError(f"locust completed no request: {done.stderr[-500:]}")
    return LoadResult(float(row["Requests/s"]), float(row["50%"]), float(row["99%"]),
                      int(row["Failure Count"]), int(row["Request Count"]))
