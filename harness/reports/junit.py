"""JUnit XML: one testsuite per gate, one testcase per check, as CI test tabs expect.

`fail` -> <failure>, `error` -> <error>, `skip` -> <skipped>; a warning passes and its message
goes to <system-out>. Elements and attributes are those of Jenkins' junit-10.xsd (which GitHub,
GitLab and most test reporters accept); characters XML 1.0 cannot carry are dropped. Each suite
opens with <properties> pinning the run (tool version, commit, spec, model, baseline and data
digests): the schema has properties on suites only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..result import Report
from .format import pinned_properties, title

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _INVALID_XML.sub("", value)


def to_junit(report: Report) -> str:
    counts = report.counts()
    pinned = pinned_properties(report)
    root = ET.Element("testsuites", {
        "name": _text(f"mlops {title(report)}: {report.spec_name}"),
        "tests": str(sum(counts.values())), "failures": str(counts["fail"]),
        "errors": str(counts["error"]), "time": f"{report.duration_s:.3f}",
    })
    for gate in report.gates:
        statuses = [check.status for check in gate.checks]
        suite = ET.SubElement(root, "testsuite", {
            "name": _text(gate.gate), "tests": str(len(statuses)),
            "failures": str(statuses.count("fail")), "errors": str(statuses.count("error")),
            "skipped": str(statuses.count("skip")), "time": f"{gate.duration_s:.3f}",
        })
        if pinned:
            properties = ET.SubElement(suite, "properties")
            for name, value in pinned:
                ET.SubElement(properties, "property", {"name": _text(name), "value": _text(value)})
        for check in gate.checks:
            case = ET.SubElement(suite, "testcase", {
                "classname": _text(f"mlops.{report.spec_name}.{gate.gate}"),
                "name": _text(check.name), "time": "0"})
            message = _text(check.message)
            if check.status == "fail":
                ET.SubElement(case, "failure", {"message": message, "type": "gate"}).text = message
            elif check.status == "error":
                failure = ET.SubElement(case, "error", {"message": message, "type": "error"})
                failure.text = _text(str(check.details.get("traceback", message)))
            elif check.status == "skip":
                ET.SubElement(case, "skipped", {"message": message})
            else:
                prefix = "warning: " if check.status == "warn" else ""
                ET.SubElement(case, "system-out").text = prefix + message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
