"""The harness tests: one folder per feature package (`data/`, `model/`, `bench/`, `load/`,
`checks/`), the shared parts (results, reports, runner, release, baseline, statistics) here.

The helpers every folder uses (`data_helpers`, `model_helpers`, `crashing_gate`) live here too:
pytest puts the folder of each conftest.py on sys.path (its default `prepend` import mode, with no
`__init__.py`), so the test modules below import them by name.
"""
