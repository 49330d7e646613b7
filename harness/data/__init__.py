"""The data gate: schema, quality and drift of the spec's data files.

`datasets` reads a file in parts (streaming, typed by the schema); `scan` tallies the parts on every
core (`rowhash` fingerprints rows for duplicates); `rules` turns the tallies into checks and their
sentences; `drift` is the drift verdict the data gate and the production monitor share; `gate` runs
it all. `frames` and `arrow_numpy` hand the same data to pandas and numpy.

Nothing is imported here: `mlops gate data` must not pay for the other features' modules.
"""
