"""Tests of `mlops init`'s inference (harness/init): profiling, facts, binding, schema and
threshold rules, one file per module; the CLI's end-to-end runs are tests/functional/test_init_cli.py."""
