"""Where the parts of a dataset are tallied: on this machine's cores, or as Ray tasks.

An engine maps one task over the parts and hands the results back in part order; the caller merges
them. Parts are cut from the data alone and every result is merged in the same order, so both
engines give exactly the same tallies, samples and verdicts. `open_engine` is the one place the
name from the spec or the command line becomes an engine.
"""

from __future__ import annotations

from .base import Engine, EngineName, data_engine, open_engine
from .progress import PartProgress

__all__ = ["Engine", "EngineName", "PartProgress", "data_engine", "open_engine"]
