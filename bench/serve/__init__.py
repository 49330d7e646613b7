"""Helpers of `bench/bench_serve.py`: servers to compare, load generators, the MLServer runtime."""
