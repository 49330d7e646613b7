"""The benchmark gate (`gate`): onnxruntime latency and throughput per batch size, against the
thresholds and against the baseline model timed in the same run."""
