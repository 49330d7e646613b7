"""Report views: the PR comment's marker and table, JUnit counts, a self-contained HTML page,
and a JSON round trip that renders the same Markdown."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from mlops.harness.reports import from_json, to_html, to_json, to_junit, to_markdown
from mlops.harness.reports.format import key_checks
from mlops.harness.result import (
    CheckResult,
    GateResult,
    Report,
    bars_chart,
    heatmap_chart,
    histogram_chart,
    percentiles_chart,
    series_chart,
)
from tests.harness.report_samples import SUMMARY, release_report

EVIL = "<script>alert('x')</script> | pipe & \x07bell"


def sample_report() -> Report:
    data = GateResult(gate="data", duration_s=0.4, checks=[
        CheckResult(gate="data", name="train.columns", status="fail",
                    message="data/train.csv: missing column 'mean_radius'", observed=1),
        CheckResult(gate="data", name="drift.mean_radius", status="pass", observed=0.031,
                    threshold="<= 0.25", message="mean_radius PSI 0.031, configured to fail when "
                                                 "above 0.25"),
        CheckResult(gate="data", name="drift", status="skip", message="no current"),
    ], charts={"drift": bars_chart("Drift per feature (PSI)", {"mean_radius": 0.031, "x": 0.4},
                                   threshold=0.25)})
    model = GateResult(gate="model", duration_s=1.0, checks=[
        CheckResult(gate="model", name="f1", status="pass", observed=0.95, threshold=">= 0.93",
                    baseline=0.96, message="f1 0.95, configured to fail when below 0.93"),
        CheckResult(gate="model", name="log_loss", status="warn", observed=0.25,
                    threshold="<= 0.2", message=EVIL),
        CheckResult(gate="model", name="gate", status="error", message="the model gate crashed: "
                    "ValueError: boom", details={"traceback": "Traceback ...\nValueError: boom"}),
    ], charts={"confusion": heatmap_chart("Confusion matrix", ["malignant", "benign"],
                                          [[40, 2], [1, 71]])})
    load = GateResult(gate="load", duration_s=20.0, checks=[
        CheckResult(gate="load", name="p95_ms", status="fail", observed=61.2, unit="ms",
                    threshold="< 50", message="p95 latency 61.2 ms, configured to fail when at "
                                              "or above 50 ms"),
    ], charts={
        "latency": percentiles_chart("Load latency", {"p50": 12.0, "p95": 61.2, "p99": 80.0},
                                     slo={"p95": 50.0, "p99": 100.0}),
        "throughput": series_chart("Throughput", list(range(120)),
                                   {"requests/s": [100.0 + i for i in range(120)]},
                                   y_label="req/s"),
        "histogram": histogram_chart("Latency histogram", [0, 10, 20, 30, 40, 50],
                                     [5, 50, 30, 10, 5]),
    })
    return Report(spec_name="breast-cancer", spec_path="mlops.yaml", commit="0123456789abcdef0",
                  duration_s=21.4, gates=[data, model, load])


def test_markdown_comment() -> None:
    text = to_markdown(sample_report())
    lines = text.splitlines()
    assert lines[0] == "<!-- mlops-report:breast-cancer -->"
    assert lines[1] == "## 💥 mlops release gates for `breast-cancer`: failed"
    assert text.count("| Gate | Check | Observed | Threshold | Δ baseline | Status |") == 1
    assert "| data | train.columns | 1 |  |  | ❌ |" in lines
    assert "| model | f1 | 0.95 | &gt;= 0.93 | -0.01 | ✅ |" in lines
    assert "| load | p95_ms | 61.2 ms | &lt; 50 |  | ❌ |" in lines
    assert "<script>" not in text and "&lt;script&gt;alert('x')&lt;/script&gt;" in text
    assert text.count("<details>") == 3 and text.count("</details>") == 3
    mermaid = re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert len(mermaid) == 4  # bars, percentiles, series, histogram (the heatmap is a table)
    assert 'x-axis ["p50", "p95", "p99"]' in mermaid[1]
    assert "line [100, 102, 104" in mermaid[2]  # 120 points thinned to 60
    assert "| **malignant** | 40 | 2 |" in lines


def test_big_gates_collapse_passing_rows() -> None:
    checks = [CheckResult(gate="data", name=f"c{i}", status="pass", message="ok")
              for i in range(20)]
    checks[3] = CheckResult(gate="data", name="c3", status="fail", message="bad")
    checks[7] = CheckResult(gate="data", name="c7", status="pass", message="sum",
                            details={"headline": True})
    text = to_markdown(Report(spec_name="s", spec_path="m.yaml",
                              gates=[GateResult(gate="data", checks=checks)]))
    rows = [line for line in text.splitlines() if line.startswith("| data |")]
    assert rows == ["| data | c3 |  |  |  | ❌ |", "| data | c7 |  |  |  | ✅ |",
                    "| data | *18 more checks passed (see details)* | | | | ✅ |"]
    assert text.count("- ✅ `c") == 19


def test_junit_counts_and_shape() -> None:
    root = ET.fromstring(to_junit(sample_report()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "2", "1")
    # junit-10.xsd: these attributes only, on the root and on each suite
    assert set(root.attrib) == {"name", "tests", "failures", "errors", "time"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["data", "model", "load"]
    for suite in suites:
        assert set(suite.attrib) == {"name", "tests", "failures", "errors", "skipped", "time"}
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert int(suite.get("failures", "")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors", "")) == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped", "")) == len(suite.findall("testcase/skipped"))
        float(suite.get("time", ""))
        for case in cases:
            assert case.get("name") and case.get("classname", "").startswith("mlops.breast-cancer.")
            assert set(case.attrib) == {"name", "classname", "time"}
            assert {child.tag for child in case} <= {"failure", "error", "skipped", "system-out"}
    failure = root.find("testsuite/testcase[@name='train.columns']/failure")
    assert failure is not None
    assert failure.get("message") == "data/train.csv: missing column 'mean_radius'"
    error = root.find("testsuite/testcase[@name='gate']/error")
    assert error is not None and "ValueError: boom" in (error.text or "")
    warned = root.find("testsuite/testcase[@name='log_loss']/system-out")
    assert warned is not None and warned.text == "warning: " + EVIL.replace("\x07", "")


def test_html_is_self_contained_and_escaped() -> None:
    page = to_html(sample_report())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", page, flags=re.I)
    assert "http" not in page and "<script" not in page and "<link" not in page
    assert page.count("<svg") == 5
    assert "&lt;script&gt;" in page
    assert page.count("</svg>") == 5 and page.rstrip().endswith("</body></html>")
    assert ">malignant</text>" in page and ">SLO 50</text>" in page


def test_json_round_trip_renders_the_same_markdown() -> None:
    report = sample_report()
    text = to_json(report)
    assert '"schema_version": 1' in text and '"status": "error"' in text
    again = from_json(text, "report.json")
    assert again == report
    assert to_markdown(again) == to_markdown(report)
    assert to_html(again) == to_html(report)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "report.json: not an mlops gate report: Invalid JSON: EOF while parsing an object at "
          "line 1 column 1"),
    ('{"spec_path": "m"}', "report.json: not an mlops gate report at spec_name: Field required"),
    ('{"schema_version": 9, "spec_name": "a", "spec_path": "m"}',
     "report.json: report schema version 9 is newer than this mlops understands (1); upgrade "
     "mlops"),
])
def test_bad_json_reports(text: str, message: str) -> None:
    from mlops.core.errors import MlopsError

    with pytest.raises(MlopsError) as error:
        from_json(text, "report.json")
    assert str(error.value) == message


def test_the_comment_opens_the_load_section_with_its_line_and_chart() -> None:
    text = to_markdown(release_report())
    section = text[text.index("### ✅ load"):]
    lines = section.splitlines()
    assert lines[2] == f"**{SUMMARY}**"
    assert lines[4] == "```mermaid"
    mermaid = re.findall(r"```mermaid\n(.*?)```", section, flags=re.S)
    latency, throughput = mermaid[:2]
    assert ('title "Latency by percentile, ms (bars: this change, line: baseline main (abc1234))"'
            in latency)
    assert "bar [1.2, 2.1, 3]" in latency and "line [1.1, 2, 2.9]" in latency
    assert "bar [8600, 8800, 8700]" in throughput and "line [8900, 8950, 8850]" in throughput
    # the chart is shown once, above the details, which keep the other charts
    details = section[section.index("<details>"):]
    assert "Latency by percentile" not in details and "Load-test latency distribution" in details
    assert text.index("| Gate | Check |") < text.index("### ✅ load")


def test_gates_without_a_summary_keep_only_their_details() -> None:
    text = to_markdown(sample_report())
    assert "###" not in text


def test_the_html_overview_comes_first_with_each_gates_key_figures() -> None:
    page = to_html(release_report())
    overview = page[page.index('<table class="overview"'):page.index("</table>") + 8]
    assert page.index('<table class="overview"') < page.index('<table class="checks"')
    rows = re.findall(r"<tr>(.*?)</tr>", overview, flags=re.S)[1:]
    assert [re.search(r'href="#gate-(\w+)"', row).group(1) for row in rows] == [  # type: ignore[union-attr]
        "data", "model", "load"]
    assert ">FAIL</span>" in rows[0] and "<li>drift 0.4 (&lt;= 0.3)</li>" in rows[0]
    assert "<li>train.rows 455 (&gt;= 100)</li>" in rows[0]
    assert "<li>f1 0.95 (&gt;= 0.93; baseline 0.96)</li>" in rows[1]
    assert f"<p>{SUMMARY}</p>" in rows[2]
    assert "<li>p95_ms 2.1 ms (&lt; 50; baseline 2 ms)</li>" in rows[2]
    assert "<li>rps 8700 requests/s (&gt; 100; baseline 8900 requests/s)</li>" in rows[2]


def test_the_html_load_section_opens_with_its_line_chart_and_links_locusts_reports() -> None:
    page = to_html(release_report())
    section = page[page.index('<section id="gate-load">'):]
    assert section.index(f'<p class="summary">{SUMMARY}</p>') < section.index("<svg")
    assert section.index("This change against the baseline") < section.index('<table class="checks"')
    assert ">this change</text>" in section and ">baseline main (abc1234)</text>" in section
    assert ">SLO 50</text>" not in section  # 50 ms is far above 3 ms: named, not drawn
    assert "SLO p95 50 off the scale" in section
    assert ('<a href="load/candidate/run-1/report.html">Locust report, this change, run 1</a>'
            in section)


def test_key_figures_put_what_failed_first() -> None:
    checks = [CheckResult(gate="g", name=f"c{i}", status="pass", observed=i, threshold="> 0",
                          message="ok") for i in range(6)]
    checks[4] = CheckResult(gate="g", name="c4", status="fail", observed=4, threshold="> 5",
                            message="bad")
    checks[5] = CheckResult(gate="g", name="c5", status="pass", message="no value")
    shown = key_checks(GateResult(gate="g", checks=checks))
    assert [check.name for check in shown] == ["c4", "c0", "c1", "c2"]
