"""Benchmarks: side-by-side measurements reported as ratios (machines here are shared and noisy)."""
