"""A fault-injecting front for the real model server, run as its own process by the load tests.

    python fault_server.py --port P --spec mlops.yaml --run-dir DIR [--error-every N] [--delay-ms D]

It starts `mlops serve` on another free port as a child in its own process group (so the load
gate's signal to that group reaches both), waits until it is ready, and proxies every request:
every Nth prediction is answered `500 injected fault` instead, and every prediction is delayed
by D ms first. Readiness and other paths pass through unchanged.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--error-every", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()

    inner = free_port()
    upstream = f"http://127.0.0.1:{inner}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mlops", "serve", args.spec, "--host", "127.0.0.1",
         "--port", str(inner), "--no-access-log",
         "--request-log-dir", str(args.run_dir / "request-log")],
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(upstream + "/v2/health/ready", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the wrapped mlops serve did not become ready") from None
            time.sleep(0.2)

    counter = {"predictions": 0}
    lock = threading.Lock()

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *values: object) -> None:
            """Quiet: the load test sends thousands of requests."""

        def do_GET(self) -> None:
            self.forward(None)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.startswith("/predict"):
                with lock:
                    counter["predictions"] += 1
                    number = counter["predictions"]
                if args.error_every and number % args.error_every == 0:
                    self.reply(500, b'{"error": "injected fault"}')
                    return
                time.sleep(args.delay_ms / 1000)
            self.forward(body)

        def forward(self, body: bytes | None) -> None:
            request = urllib.request.Request(upstream + self.path, data=body, method=self.command,
                                             headers={"Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    self.reply(response.status, response.read())
            except urllib.error.HTTPError as error:
                self.reply(error.code, error.read())

        def reply(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    front = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    front.daemon_threads = True

    def stop(number: int, frame: object) -> None:
        threading.Thread(target=front.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        front.serve_forever()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
