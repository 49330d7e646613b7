"""Batch scoring: `mlops predict` over a dataset, into a folder of Parquet files."""
