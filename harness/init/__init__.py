"""`mlops init` from a team's own files: the spec inferred from its data and its ONNX model.

`infer.infer_spec` is the entry point (the CLI stays thin). The steps, one module each:
`profiling` reads each file once, streaming, into per-column `profile`s; `facts` joins them over
the files; `binding` fits the ONNX graph to the columns (layout, dtypes, task, labels, output);
`schema` and `proposals` hold the rules that turn facts and measurements into values; `measure`
runs the model through the gates' own code; `render` writes the commented YAML.
"""
