"""The test suite, a package: every helper is imported by its full name (`tests.projects`,
`tests.specs`, `tests.harness.data_helpers`, ...), never through sys.path edits.

- `tests.specs`: specs as data (the suite's own breast-cancer spec, changes by key path, YAML out,
  where a value is in the text);
- `tests.projects`: the breast-cancer project most tests start from, `{path: content}` files, and
  a project in a git repository of its own;
- `tests.tooling`: `require_tool`, real external tools (fail under CI=true, skip otherwise);
- `tests.workflow_replay`: a generated GitHub Actions job replayed in a fresh virtualenv;
- one folder per package (`core/`, `spec/`, `compiler/`, `harness/`, `serving/`, `monitor/`) with
  its unit tests and helpers, `functional/` for the CLI end to end, `examples/` and `image/`.
"""
