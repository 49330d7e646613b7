"""The harness tests: one folder per feature package (`data/`, `model/`, `bench/`, `load/`,
`checks/`), the shared parts (results, reports, runner, release, baseline, statistics) here.

The helpers the folders share live here too, imported by their package name like every test
helper: `tests.harness.data_helpers` (CSV edits for fault injection),
`tests.harness.model_helpers` (the breast-cancer project with its model, model variants and
hand-built graphs) and `tests.harness.crashing_gate`; projects come from `tests.projects`.
"""
