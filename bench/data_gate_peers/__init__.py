"""Peer tools' versions of the data gate, each run by bench_data_gate in its own venv.

Every script reads the same files with pandas (as each tool expects; CSV or Parquet by the file's
suffix, see frames.py), applies the same rules as the bench spec, and prints one JSON line:
{"seconds": time after imports, "ok": ..., ...}.
"""
