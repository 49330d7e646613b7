"""The `mlops` command line: a thin click front over the phases."""
