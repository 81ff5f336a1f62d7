"""``junit-findings.xml``: one JUnit test case per finding, beside pytest's own JUnit file.

A file of its own rather than cases appended to pytest's: tools and scripts that count
pytest's tests in ``junit.xml`` keep counting tests, and CI reporters take every
``junit*.xml``. An open finding is a failure (its message the finding's title, its text
what to do, the cells and the baseline entries that would accept it); an accepted or a
reported one passes, with its state in ``system-out``.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["findings_junit_path", "write_findings_junit"]


def findings_junit_path(junit: Path) -> Path:
    """``reports/junit.xml`` -> ``reports/junit-findings.xml``."""
    return junit.with_name(f"{junit.stem}-findings{junit.suffix or '.xml'}")


def write_findings_junit(
    findings: Sequence[Mapping[str, Any]], path: Path, *, timestamp: str = ""
) -> Path:
    """Write the findings as one ``<testsuite name="parity findings">`` to ``path``."""
    failures = sum(1 for f in findings if f.get("state") == "open")
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name="parity findings",
        tests=str(len(findings)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time="0",
        timestamp=timestamp,
    )
    for f in findings:
        case = ET.SubElement(
            suite, "testcase", classname="parity.engine.findings", name=f"{f['id']} {f['title']}",
            time="0",
        )  # fmt: skip
        props = ET.SubElement(case, "properties")
        for key in ("id", "state", "severity", "origin", "kind"):
            ET.SubElement(props, "property", name=f"finding-{key}", value=str(f.get(key)))
        cells = "\n".join(f"  {c['endpoint']} x {c['check']} [{', '.join(c['scenarios'])}]"
                          for c in f.get("cells", []))  # fmt: skip
        text = f"{f.get('action')}\n\ncells:\n{cells}\n"
        if f.get("baseline"):
            text += f"\nto accept it, paste into parity-baseline.toml:\n{f['baseline']}"
        if f.get("state") == "open":
            failure = ET.SubElement(
                case, "failure", message=f"{f.get('severity')}: {f['title']}", type="finding"
            )
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = f"{f.get('state')}\n{text}"
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            ET.ElementTree(root).write(fh, encoding="utf-8", xml_declaration=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
