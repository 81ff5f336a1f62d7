"""Replay the hand-found differences of differences.toml with curl and write differences.md.

Each difference's ``requests`` are sent with curl to both servers of the pair, each on a
fresh copy of the seed: differences marked ``fresh = true`` (they write) get a pair of
their own, the others share one pair that only ever sees reads. So every transcript in
differences.md is what a fresh start answers, and running this again reproduces it.

    python3 examples/json-server/transcripts.py            # print the markdown
    python3 examples/json-server/transcripts.py --write    # rewrite differences.md

Needs the pair installed (examples/json-server/install.sh) and curl.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the launcher is in tests/

from tests.outside.json_server import JsonServerPair, json_server_pair  # noqa: E402

SPEC = HERE / "differences.toml"
OUT = HERE / "differences.md"
BODY_LIMIT = 400  # characters of a body kept in a transcript
NAMES = {"express": "reference json-server 0.17.4", "serverless": "candidate json-server-py 0.1.11"}


def _curl(args: list[str], base: str, big: Path) -> tuple[str, list[tuple[str, str]], str]:
    """Status line, headers and body (text) of one curl run."""
    argv = [a.replace("$BASE", base).replace("$BIG", str(big)) for a in args]
    hide_body = "-I" in argv  # curl -I writes the headers where the body would go
    if "-o" in argv:  # "-o /dev/null": the transcript shows headers only
        i = argv.index("-o")
        del argv[i : i + 2]
        hide_body = True
    with tempfile.TemporaryDirectory() as tmp:
        head, body = Path(tmp) / "head", Path(tmp) / "body"
        subprocess.run(
            ["curl", "-s", "--max-time", "20", "-D", str(head), "-o", str(body), *argv],
            check=False,
        )
        # The last header block: a big body gets "100 Continue" first.
        blocks = head.read_text(errors="replace").replace("\r", "").strip().split("\n\n")
        lines = blocks[-1].splitlines()
        text = "" if hide_body or not body.exists() else body.read_text(errors="replace")
    status = lines[0] if lines else "(no answer)"
    headers = [
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:])
        if name
    ]
    return status, headers, text


def _clean(text: str, pair: JsonServerPair) -> str:
    for url in (pair.express_url, pair.serverless_url):
        text = text.replace(url, "$BASE")
    return text.replace(str(ROOT), "<repo>")


def _answer(
    status: str, headers: list[tuple[str, str]], body: str, show: list[str], pair: JsonServerPair
) -> list[str]:
    out = [status]
    have = {n.lower(): (n, v) for n, v in headers}
    for wanted in ["Content-Type", *show]:
        name, value = have.get(wanted.lower(), (wanted, None))
        out.append(f"{name}: {value}" if value is not None else f"{wanted}: (absent)")
    if body:
        body = _clean(body, pair)
        if len(body) > BODY_LIMIT:
            body = body[:BODY_LIMIT] + f"... ({len(body):,} characters)"
        out += ["", body]
    return out


def _shown_command(args: list[str]) -> str:
    # "$BASE/..." in double quotes: the shell still expands it, "&" and "?" stay literal.
    shown = " ".join(f'"{a}"' if "$" in a else shlex.quote(a) for a in args)
    if "-o" in args:
        return f"curl -s -D - {shown}"
    return f"curl -s {shown}" if "-I" in args else f"curl -s -i {shown}"


def transcript(requests: list[str], show: list[str], pair: JsonServerPair, big: Path) -> str:
    blocks = []
    for request in requests:
        args = shlex.split(request)
        lines = [f"$ {_shown_command(args)}"]
        for name, base in (("express", pair.express_url), ("serverless", pair.serverless_url)):
            status, headers, body = _curl(args, base, big)
            lines.append(f"# {NAMES[name]}")
            lines += _answer(status, headers, body, show, pair)
            lines.append("")
        blocks.append("\n".join(lines).rstrip())
    return "```\n" + "\n\n".join(blocks) + "\n```\n"


@contextlib.contextmanager
def _pair_for(entry: dict[str, Any], shared: JsonServerPair) -> Iterator[JsonServerPair]:
    if entry.get("fresh"):
        with json_server_pair() as pair:
            yield pair
    else:
        yield shared


HEADER = """\
# json-server 0.17.4 vs json-server-py 0.1.11: the differences, found by hand

Reference ("express"): [json-server](https://www.npmjs.com/package/json-server) 0.17.4
from npm (Express 4). Candidate ("serverless"): json-server-py 0.1.11 from PyPI (aiohttp).
Each serves its own copy of [db.json](db.json). Every difference below was found with curl
before the suite was run against the pair, by trying the API's surface: list, get one,
unknown and odd ids, create (with and without id, duplicate id), PUT, PATCH, DELETE (twice),
filters, paging and its headers, sorting, `_embed`/`_expand`, nested routes, the singular
resource, unknown routes, trailing slash, HEAD, OPTIONS and CORS (with and without Origin),
wrong methods, non-JSON bodies and content types, and the headers each server adds.

The machine-readable list, with the catalog scenario where the suite can see each one, is
[differences.toml](differences.toml); this page is written from it by
[transcripts.py](transcripts.py), which replays each request with curl against both servers
on fresh seed copies (`$BASE` is each server's base URL; differences that write start a
pair of their own, so each transcript holds from a fresh start and in the order shown).
Response headers are trimmed to the status line, Content-Type and the headers that matter
(an absent one is written `(absent)`); long bodies are cut.

To try one by hand: `python -m tests.outside.json_server` prints both URLs.

| id | endpoint | kind | difference |
| --- | --- | --- | --- |
"""


def render(spec: dict[str, Any]) -> str:
    parts = [HEADER]
    for d in spec["difference"]:
        endpoint = f"`{d['method']} {d['route']}`"
        parts.append(
            f"| [{d['id']}](#{d['id'].lower()}) | {endpoint} | {d['kind']} | {d['summary']} |\n"
        )
    with tempfile.TemporaryDirectory() as tmp, json_server_pair() as shared:
        big = Path(tmp) / "big.json"
        big.write_text(json.dumps({"title": "x" * 2_000_000}))
        for d in spec["difference"]:
            parts.append(f"\n## {d['id']}\n\n")
            parts.append(f"`{d['method']} {d['route']}` · {d['kind']}\n\n{d['summary']}.\n")
            if d.get("detail"):
                parts.append(f"\n{d['detail']}\n")
            where = d.get("scenario")
            parts.append(
                f"\nSuite: catalog scenario `{where}`, check `{d['check']}`.\n"
                if where
                else "\nSuite: no catalog scenario sends it.\n"
            )
            if d.get("shows"):
                seen = "; ".join(f"`{p}`" for p in d["shows"])
                parts.append(f"\nAlso seen by the families at (endpoint | check | case): {seen}.\n")
            parts.append("\n")
            with _pair_for(d, shared) as pair:
                parts.append(transcript(d["requests"], d.get("show", []), pair, big))
        parts.append("\n## Checked by hand, not different\n")
        for s in spec.get("same", []):
            parts.append(f"\n- {s['what']}.\n\n")
            with _pair_for(s, shared) as pair:
                parts.append(transcript(s["requests"], s.get("show", []), pair, big))
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args()
    spec = tomllib.loads(SPEC.read_text())
    text = render(spec)
    if args.write:
        OUT.write_text(text)
        print(f"wrote {OUT.relative_to(ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
