"""The buffer-level conversions agree with pyarrow's own, and never import pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.harness.data.arrow_numpy import booleans, floats, integers

maybe_floats = st.lists(st.one_of(st.none(), st.floats(allow_nan=False, width=64)), max_size=40)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(maybe_floats, st.integers(0, 10), st.integers(0, 40))
def test_floats_match_pyarrow(values: list[float | None], start: int, length: int) -> None:
    array = pa.array(values, type=pa.float64()).slice(start, length)
    expected = array.to_numpy(zero_copy_only=False)
    assert np.array_equal(floats(array), expected, equal_nan=True)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.none(), st.booleans()), max_size=40), st.integers(0, 10),
       st.integers(0, 40))
def test_booleans_match_pyarrow(values: list[bool | None], start: int, length: int) -> None:
    array = pa.array(values, type=pa.bool_()).slice(start, length)
    expected = np.array([bool(v) for v in array.to_pylist()], dtype=bool)
    assert np.array_equal(booleans(array), expected)


@pytest.mark.parametrize("array", [pa.array([1, 2, None]), pa.array([True, None]), pa.array([], pa.int8()),
                                   pa.array([None, None], pa.float64())])
def test_other_types_and_empty(array: pa.Array) -> None:
    expected = [np.nan if v is None else float(v) for v in array.to_pylist()]
    assert np.array_equal(floats(array), np.array(expected, dtype=np.float64), equal_nan=True)


def test_integers() -> None:
    assert integers(pa.array([3, 1, 2], pa.int32()).slice(1)).tolist() == [1, 2]
    with pytest.raises(ValueError, match="without nulls"):
        integers(pa.array([1, None]))


def test_no_pandas_import() -> None:
    """Arrays as the gates get them (from the CSV reader) convert without importing pandas."""
    probe = ("import sys, io, pyarrow as pa, pyarrow.csv as pcsv, pyarrow.compute as pc\n"
             "from mlops.harness.data.arrow_numpy import booleans, floats, integers\n"
             "batch = pcsv.read_csv(pa.BufferReader(b'x,y\\n1.5,2\\n,3\\n'))\n"
             "floats(batch.column('x').chunk(0)); integers(batch.column('y').chunk(0))\n"
             "booleans(pc.is_null(batch.column('x').chunk(0)))\n"
             "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
