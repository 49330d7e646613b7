"""Per-feature PSI drift of current vs reference with Evidently's DataDriftPreset."""

from __future__ import annotations

import json
import sys
import time

from evidently import Report
from evidently.presets import DataDriftPreset
from frames import read
from rules import FEATURES, PSI_THRESHOLD

started = time.perf_counter()
reference = read(sys.argv[1], FEATURES)
current = read(sys.argv[2], FEATURES)
snapshot = Report([DataDriftPreset(method="psi", threshold=PSI_THRESHOLD)]).run(
    current_data=current, reference_data=reference)
scores = {m["config"]["column"]: m["value"] for m in snapshot.dict()["metrics"]
          if m["config"]["type"].endswith(":ValueDrift")}
print(json.dumps({"seconds": time.perf_counter() - started, "scores": scores,
                  "drifted": sorted(c for c, v in scores.items() if v >= PSI_THRESHOLD)}))
