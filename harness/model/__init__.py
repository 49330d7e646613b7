"""The model gate and what it evaluates the ONNX artifact with.

`gate` runs the checks: `testset` (the test split as raw columns), `metrics` (task metrics in
numpy), `parity` (the native model on the inputs the ONNX graph got), `robustness` (hypothesis
properties); `loading` binds the artifact to the spec through the model contract
(`mlops.core.runtime`) and `predictor` wraps it for a team's own checks.

Nothing is imported here: onnxruntime is loaded only when a model is run.
"""
