"""The model gate and what it evaluates the ONNX artifact with.

`gate` runs the checks: `testset` (the test split as float32 rows), `metrics` (task metrics in
numpy), `parity` (the native model on the same rows), `robustness` (hypothesis properties);
`onnx_model` runs the artifact and `predictor` wraps it for a team's own checks.

Nothing is imported here: onnxruntime is loaded only when a model is run.
"""
