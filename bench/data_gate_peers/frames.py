"""How every peer script reads a bench file: pandas, Parquet or CSV by the file's suffix."""

from __future__ import annotations

import pandas as pd


def read(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path, columns=columns)
    return pd.read_csv(path, usecols=columns)
