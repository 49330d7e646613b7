"""The checks gate: a team's own pytest checks, run in a subprocess with this package's fixtures.

`gate` runs pytest and reads its JUnit XML; `pytest_plugin` is the fixtures (installed through the
`pytest11` entry point); `live_server` is the `server` fixture's running `mlops serve`.

Nothing is imported here: every pytest run of the environment loads `pytest_plugin`, and must not
pay for pydantic, the spec models or onnxruntime unless a test asks for a fixture.
"""
