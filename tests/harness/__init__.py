"""The harness tests: one folder per feature package (`data/`, `model/`, `bench/`, `load/`,
`checks/`), the shared parts (results, reports, runner, release, baseline, statistics) here.

The helpers every folder uses live here too, imported by their package name like every test
helper: `tests.harness.data_helpers` (copies of the example project), `tests.harness.model_helpers`
(with its model, variants and hand-built graphs) and `tests.harness.crashing_gate`.
"""
