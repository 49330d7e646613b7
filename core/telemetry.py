"""Prometheus metric names, declared once: the server and monitor export them, alert rules query them.

Changing a name here changes both sides together; a test scrapes the real server and checks that
every name used by a generated rule is exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "histogram", "gauge", "summary"]


@dataclass(frozen=True)
class MetricName:
    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()


# --- exported by the inference server (`mlops serve`) -------------------------------------------
# `variant` is champion, or challenger for serving.challenger's server (`mlops serve --variant`).
REQUESTS = MetricName("mlops_requests_total", "counter",
                      "HTTP requests by endpoint and status code.",
                      ("model", "variant", "endpoint", "status"))
REQUEST_DURATION = MetricName("mlops_request_duration_seconds", "histogram",
                              "HTTP request latency in seconds.", ("model", "variant", "endpoint"))
ERRORS = MetricName("mlops_errors_total", "counter",
                    "Rejected or failed requests by kind of error.", ("model", "variant", "kind"))
BATCH_SIZE = MetricName("mlops_batch_rows", "histogram",
                        "Rows per model run after micro-batching.", ("model", "variant"))
PREDICTIONS = MetricName("mlops_predictions_total", "counter",
                         "Predicted labels (classification).", ("model", "variant", "label"))
PREDICTION_VALUE = MetricName("mlops_prediction_value", "histogram",
                              "Predicted values (regression) or positive-class scores.",
                              ("model", "variant"))
FEATURE_VALUE = MetricName("mlops_feature_value", "summary",
                           "Numeric input values seen (sum and count of non-null values per "
                           "feature).",
                           ("model", "variant", "feature"))
MODEL_READY = MetricName("mlops_model_ready", "gauge",
                         "1 once the model is loaded and warmed up.", ("model", "variant"))
SCHEMA_VIOLATIONS = MetricName("mlops_schema_violations_total", "counter",
                               "Request values outside data.schema, by feature and rule (dtype, "
                               "nullable, allowed, min, max).",
                               ("model", "variant", "feature", "rule"))
MODEL_INFO = MetricName("mlops_model_info", "gauge",
                        "1 for the model being served: its version, the SHA-256 of its ONNX file "
                        "and the git commit it was built from.",
                        ("model", "variant", "version", "digest", "commit"))

# --- exported by the inference server with serving.request_log.upload (serving/log_upload.py) ---
# Each worker process uploads its own closed files; the sums over workers are the server's.
UPLOADED_FILES = MetricName("mlops_request_log_uploaded_files_total", "counter",
                            "Closed request-log files uploaded to serving.request_log.upload.",
                            ("model", "variant"))
UPLOADED_BYTES = MetricName("mlops_request_log_uploaded_bytes_total", "counter",
                            "Bytes of the request-log files uploaded.", ("model", "variant"))
UPLOAD_FAILURES = MetricName("mlops_request_log_upload_failures_total", "counter",
                             "Failed request-log upload attempts (each one is retried).",
                             ("model", "variant"))
UPLOAD_DROPPED = MetricName("mlops_request_log_dropped_files_total", "counter",
                            "Closed request-log files deleted without upload because "
                            "serving.request_log.buffer_mb was full.", ("model", "variant"))
UPLOAD_BUFFERED_FILES = MetricName("mlops_request_log_buffered_files", "gauge",
                                   "Closed request-log files on the local disk waiting for upload.",
                                   ("model", "variant"))
UPLOAD_BUFFERED_BYTES = MetricName("mlops_request_log_buffered_bytes", "gauge",
                                   "Bytes of the closed request-log files waiting for upload.",
                                   ("model", "variant"))
UPLOAD_METRICS = (UPLOADED_FILES, UPLOADED_BYTES, UPLOAD_FAILURES, UPLOAD_DROPPED,
                  UPLOAD_BUFFERED_FILES, UPLOAD_BUFFERED_BYTES)
"""Per worker: its gauges add up over workers (the server's readiness and info gauges do not)."""

# --- exported by the monitor job (`mlops monitor run`) ------------------------------------------
DRIFT_SCORE = MetricName("mlops_drift_score", "gauge",
                         "Drift statistic of served inputs against the reference, per feature.",
                         ("model", "feature", "method"))
DRIFTED_FRACTION = MetricName("mlops_drifted_features_fraction", "gauge",
                              "Fraction of features whose drift exceeds the threshold.", ("model",))
PERFORMANCE = MetricName("mlops_model_performance", "gauge",
                         "Live model metric on labelled traffic.", ("model", "metric"))
CHALLENGER_AGREEMENT = MetricName(
    "mlops_challenger_agreement", "gauge",
    "Share of the requests both models answered on which serving.challenger agreed with the "
    "champion.", ("model",))
CHALLENGER_SHIFT = MetricName(
    "mlops_challenger_prediction_shift", "gauge",
    "Drift statistic of the challenger's predictions against the champion's.", ("model", "method"))
CHALLENGER_METRIC_DROP = MetricName(
    "mlops_challenger_metric_drop", "gauge",
    "How much worse the challenger's live metric is than the champion's (positive: worse).",
    ("model", "metric"))
MONITOR_LAST_RUN = MetricName("mlops_monitor_last_run_timestamp_seconds", "gauge",
                              "Unix time of the last completed monitor run.", ("model",))

SERVER_METRICS = (REQUESTS, REQUEST_DURATION, ERRORS, BATCH_SIZE, PREDICTIONS, PREDICTION_VALUE,
                  FEATURE_VALUE, SCHEMA_VIOLATIONS, MODEL_READY, MODEL_INFO, *UPLOAD_METRICS)
MONITOR_METRICS = (DRIFT_SCORE, DRIFTED_FRACTION, PERFORMANCE, CHALLENGER_AGREEMENT,
                   CHALLENGER_SHIFT, CHALLENGER_METRIC_DROP, MONITOR_LAST_RUN)

# --- HTTP endpoints the manifests probe and the load test calls ---------------------------------
LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"
PREDICT_PATH = "/predict"
INFER_ENDPOINT = "/v2/models/{name}/infer"  # the endpoint label of every model's v2 infer route
INFERENCE_ENDPOINTS = (PREDICT_PATH, INFER_ENDPOINT)
# PromQL matcher value selecting only inference traffic (not probes, metadata or /metrics).
INFERENCE_ENDPOINTS_REGEX = "|".join(e.replace("{", "\\\\{").replace("}", "\\\\}")
                                     for e in INFERENCE_ENDPOINTS)
