"""Arrow arrays to numpy straight from their buffers.

pyarrow's own `to_numpy` (and any scalar argument, e.g. to `fill_null`) imports pandas on first use
whenever pandas is installed (it is, for the pytest plugin's DataFrame fixtures): about 0.4 s on
every gate run that never touches pandas.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


def _bits(buffer: pa.Buffer | None, offset: int, length: int, default: bool) -> npt.NDArray[np.bool_]:
    if buffer is None:
        return np.full(length, default, dtype=bool)
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
    return bits[offset:offset + length].astype(bool)


def _valid(values: pa.Array) -> npt.NDArray[np.bool_]:
    return _bits(values.buffers()[0], values.offset, len(values), True)


def floats(array: pa.Array) -> npt.NDArray[np.float64]:
    """Any numeric or boolean array as float64, nulls as NaN (a read-only view when no nulls)."""
    values = pc.cast(array, pa.float64())
    data = values.buffers()[1]
    if data is None:
        return np.full(len(values), np.nan)
    numbers = np.frombuffer(data, dtype=np.float64, count=len(values), offset=values.offset * 8)
    return np.where(_valid(values), numbers, np.nan) if values.null_count else numbers


def booleans(array: pa.Array) -> npt.NDArray[np.bool_]:
    """A boolean array as numpy bools; nulls count as False."""
    values = _bits(array.buffers()[1], array.offset, len(array), False)
    return values & _valid(array) if array.null_count else values


def integers(array: pa.Array) -> npt.NDArray[np.int64]:
    """An integer array without nulls as int64."""
    values = pc.cast(array, pa.int64())
    if values.null_count:
        raise ValueError("integers() needs an array without nulls")
    data = values.buffers()[1]
    if data is None:
        return np.zeros(len(values), dtype=np.int64)
    return np.frombuffer(data, dtype=np.int64, count=len(values), offset=values.offset * 8)
