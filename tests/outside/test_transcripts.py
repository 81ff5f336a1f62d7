"""Every hand-found (or suite-found, then checked) difference of an outside pair has its curl
transcript in the pair's differences.md: the request and both answers (issues 16, 17)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("pair", ["json-server", "httpbin"])
def test_every_listed_difference_has_its_transcript(pair: str) -> None:
    listed = tomllib.loads((EXAMPLES / pair / "differences.toml").read_text(encoding="utf-8"))
    ids = [d["id"] for d in listed["difference"]]
    text = (EXAMPLES / pair / "differences.md").read_text(encoding="utf-8")
    sections = dict(
        (m[1], m[2])
        for m in re.finditer(r"^#{2,3} ([A-Z]+-\d+)\b(.*?)(?=^#{2,3} |\Z)", text, re.M | re.S)
    )
    missing = [i for i in ids if i not in sections]
    assert not missing, f"{pair}: no section in differences.md for {missing}"
    untranscribed = [i for i in ids if sections[i].count("$ curl") < 1]
    assert not untranscribed, f"{pair}: no curl transcript for {untranscribed}"
    assert len(set(ids)) == len(ids), f"{pair}: an id listed twice"
