"""The bench's rules, shared by every peer script (the columns of the generated files)."""

from __future__ import annotations

FEATURES = [f"f{i:02d}" for i in range(29)]
TARGET = "label"
LOW, HIGH = -1000.0, 1000.0
MIN_ROWS, MAX_DUPLICATE_FRACTION, MIN_CLASS_FRACTION = 100, 0.01, 0.2
PSI_THRESHOLD = 0.25
