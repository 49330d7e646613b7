"""Load-test machinery of the load gate: owned processes, the server under test, Locust runs.

Locust is only ever run as a subprocess: importing it monkey-patches the standard library.
"""
