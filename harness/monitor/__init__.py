"""The production monitor (`mlops monitor run`): the server's request log against the reference.

Phases, one module each: `config` (spec or monitor.yaml) -> `requestlog` and `feedback` (read the
window) -> `reference`, `drift`, `performance` (compare, with the data and model gates' code) ->
`prometheus` (textfile, Pushgateway) -> `run` (the report and the exit code).
"""

from .config import MonitorConfig, MonitorError
from .run import EXIT_ALERT, EXIT_FAILED, EXIT_OK, MonitorRun, run_monitor

__all__ = ["EXIT_ALERT", "EXIT_FAILED", "EXIT_OK", "MonitorConfig", "MonitorError", "MonitorRun",
           "run_monitor"]
