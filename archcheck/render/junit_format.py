"""``--format junit``: JUnit XML, which CI systems show as test results.

Each model is a test suite and each rule a test case; a model that could not
be checked is one erroring test case, ``load``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from archcheck.render.lines import display_path, finding_text

if TYPE_CHECKING:
    from archcheck.report import Report

# XML 1.0 cannot hold most control characters (say, colour codes the model printed).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
COUNTS = ("tests", "failures", "errors")


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    out.write(to_xml(reports))


def to_xml(reports: list[Report]) -> str:
    root = ET.Element("testsuites", name="archcheck")
    suites = [suite(report) for report in reports]
    root.extend(suites)
    for key in COUNTS:
        root.set(key, str(sum(int(element.get(key, 0)) for element in suites)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def xml_text(text: str) -> str:
    return NOT_XML.sub("\ufffd", text)


def suite(report: Report) -> ET.Element:
    element = ET.Element("testsuite", name=xml_text(f"archcheck: {display_path(report.label)}"))
    classname = xml_text(f"archcheck.{Path(report.path).stem}")
    if report.error is not None:
        case = ET.SubElement(element, "testcase", classname=classname, name="load")
        error = ET.SubElement(case, "error", message=xml_text(report.error.reason), type=report.error.phase)
        error.text = xml_text(report.error.detail or report.error.reason)
    for rule in report.rules:
        case = ET.SubElement(element, "testcase", classname=classname, name=xml_text(rule.id))
        if not rule.passed:
            failure = ET.SubElement(case, "failure", message=xml_text(rule.message), type=xml_text(rule.id))
            failure.text = xml_text("\n".join(finding_text(finding) for finding in rule.findings) or rule.message)
    if report.output:
        ET.SubElement(element, "system-out").text = xml_text(report.output)
    element.set("tests", str(len(element.findall("testcase"))))
    element.set("failures", str(len(element.findall("testcase/failure"))))
    element.set("errors", str(len(element.findall("testcase/error"))))
    return element
