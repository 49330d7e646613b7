"""Locust user for the serving bench: posts one fixed JSON body (BENCH_PATH, BENCH_BODY_FILE)."""

import os
from pathlib import Path

from locust import FastHttpUser, task

PATH = os.environ["BENCH_PATH"]
BODY = Path(os.environ["BENCH_BODY_FILE"]).read_text(encoding="utf-8")


class Client(FastHttpUser):
    @task
    def infer(self) -> None:
        self.client.post(PATH, data=BODY, headers={"Content-Type": "application/json"})
