"""Write the curl transcripts of ``differences.md`` from ``differences.toml``.

The differences were found by hand with curl; this replays each one's ``curl`` lines against
both servers of a running pair, so that the transcripts in the markdown are real answers
and can be made again after a version bump:

    python -m tests.outside.httpbin &              # prints the two URLs
    python examples/httpbin/transcripts.py --express-url URL --serverless-url URL

It rewrites the part of differences.md between the TRANSCRIPTS markers and leaves the
rest (the noise and "what did not differ" sections) alone. Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
BEGIN = "<!-- TRANSCRIPTS BEGIN (made by transcripts.py; edit differences.toml instead) -->"
END = "<!-- TRANSCRIPTS END -->"
_BODY_LIMIT = 700  # characters of a body shown; the rest is trimmed and counted
_SKIPPED_HEADERS = ("date:",)  # differ on every request


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"{url}: only loopback URLs (127.0.0.0/8, localhost, ::1)")
    return url.rstrip("/")


def _curl(line: str, base: str, stdin: str | None) -> str:
    args = shlex.split(line.replace("{url}", base))
    done = subprocess.run(
        ["curl", "-sS", "-i", "--max-time", "12", *args],
        input=(stdin or "").encode(),
        capture_output=True,
        check=False,
    )
    raw = done.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
    head, sep, body = raw.partition("\n\n")
    # curl -i prints every answer of a 100 Continue exchange; keep the last head.
    while body.startswith("HTTP/") and sep:
        head, sep, body = body.partition("\n\n")
    lines = [h for h in head.splitlines() if not h.lower().startswith(_SKIPPED_HEADERS)]
    if not raw:
        err = done.stderr.decode(errors="replace").strip()
        return f"(no answer: curl exit {done.returncode}: {err})"
    if any(ord(c) < 9 or 13 < ord(c) < 32 or c == "\ufffd" for c in body[:200]):
        body = f"({len(body.encode('utf-8', 'surrogateescape'))} bytes of binary data)"
    elif len(body) > _BODY_LIMIT:
        body = body[:_BODY_LIMIT] + f"\n... ({len(body) - _BODY_LIMIT} more characters)"
    return "\n".join(lines) + ("\n\n" + body.rstrip("\n") if body.strip() else "")


def _section(diff: dict[str, Any], urls: dict[str, str]) -> str:
    out = [
        f"### {diff['id']}: {diff['method']} {diff['route']}",
        "",
        f"- kind: {diff['kind']}",
        f"- catalog scenarios: {', '.join(diff['scenarios'])} (check: {diff['check']})",
    ]
    if diff.get("also"):
        out.append(f"- the same on: {', '.join(diff['also'])}")
    out += ["", diff["summary"] + ".", ""]
    if diff.get("detail"):
        out += [diff["detail"], ""]
    for line in diff["curl"]:
        for name, base in urls.items():
            shown = line.replace("{url}", base)
            out += [f"{name}:", "", "```", f"$ curl -si {shown}"]
            out += [_curl(line, base, diff.get("stdin")), "```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--express-url", required=True, help="httpbin (reference)")
    parser.add_argument("--serverless-url", required=True, help="httpbinx (candidate)")
    args = parser.parse_args(argv)
    urls = {
        "httpbin (reference)": _loopback(args.express_url),
        "httpbinx (candidate)": _loopback(args.serverless_url),
    }
    diffs = tomllib.loads((HERE / "differences.toml").read_text())["difference"]
    md_path = HERE / "differences.md"
    text = md_path.read_text()
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    body = "\n".join(_section(d, urls) for d in diffs)
    md_path.write_text(f"{before}{BEGIN}\n\n{body}\n{END}{after}")
    print(f"{md_path}: {len(diffs)} differences transcribed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
