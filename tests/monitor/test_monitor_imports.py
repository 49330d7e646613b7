"""The monitor runs in the serving image, which has no git executable: GitPython refuses to be
imported there, so nothing the monitor imports may import it."""

from __future__ import annotations

import subprocess
import sys


def test_the_monitor_imports_no_git() -> None:
    code = ("import sys, mlops.harness.monitor.run, mlops.cli.commands.monitor; "
            "print(','.join(m for m in ('git', 'mlops.harness.baseline') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
