"""Row fingerprints for the duplicate check: one 64-bit hash per row, built column by column.

Each column is folded in with one FNV step, then splitmix64 (`stats.sketch.mix64`) spreads the bits;
two rows are duplicates when their hashes are equal. Only the hashes are kept, 8 bytes a row,
never the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..stats.sketch import mix64

Hashes = npt.NDArray[np.uint64]

_SEED = 0x9E3779B97F4A7C15
_PRIME = np.uint64(0x100000001B3)
"""FNV's 64-bit prime: each (hash ^ column) * prime step is a bijection, so rows differing in one
column never collide; splitmix64 then spreads the bits before the hashes are compared."""
_NULL_TEXT = 0x6E756C6C
"""The hash of a missing text value (any constant: it only has to differ from the others')."""


def start(rows: int) -> Hashes:
    """The running hashes of `rows` rows, before any column is folded in."""
    return np.full(rows, _SEED, dtype=np.uint64)


def mix_floats(row_hash: Hashes, values: npt.NDArray[np.float64]) -> None:
    """Fold in a numeric column by its bits (a missing value must be one NaN, not any NaN)."""
    mix_into(row_hash, values.view(np.uint64))


def mix_into(row_hash: Hashes, column: Hashes) -> None:
    """One FNV step per column, in place (a 65,536-row batch makes no new arrays)."""
    np.bitwise_xor(row_hash, column, out=row_hash)
    np.multiply(row_hash, _PRIME, out=row_hash)


def text_hashes(values: Sequence[str | None]) -> Hashes:
    """The hash of each distinct text value of a column (None: missing). Computed from the UTF-8
    bytes, not with Python's `hash`, which each process seeds at random: parts tallied in other
    processes (Ray workers) must fingerprint equal rows equally."""
    hashes = np.full(len(values), _NULL_TEXT, dtype=np.uint64)
    present = [index for index, value in enumerate(values) if value is not None]
    if not present:
        return hashes
    texts = [value.encode() for value in values if value is not None]
    width = -(-max(max(map(len, texts)), 1) // 8) * 8
    # zero-padded to whole 8-byte words; the length tells "a" from "a\0"
    words = np.array(texts, dtype=f"S{width}").view("<u8").reshape(len(texts), width // 8)
    running = mix64(np.full(len(texts), _SEED, dtype=np.uint64)
                    ^ np.array([len(text) for text in texts], dtype=np.uint64))
    for column in range(words.shape[1]):
        running = mix64((running ^ words[:, column]) * _PRIME)
    hashes[present] = running
    return hashes


def finish(row_hash: Hashes) -> Hashes:
    """The rows' fingerprints, once every column is folded in."""
    return mix64(row_hash)


def first_duplicate(parts: Sequence[Hashes]) -> tuple[int, int, int]:
    """(duplicate rows, first duplicate's row, the earlier row it repeats) over the fingerprints of
    consecutive batches; rows from 1."""
    if not parts:
        return 0, 0, 0
    hashes = np.concatenate(parts)
    ordered = np.sort(hashes)
    if not np.any(ordered[1:] == ordered[:-1]):  # the usual case, and the cheap test
        return 0, 0, 0
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    original = first[inverse]
    repeated = original != np.arange(hashes.size)
    index = int(np.argmax(repeated))
    return int(np.count_nonzero(repeated)), index + 1, int(original[index]) + 1
