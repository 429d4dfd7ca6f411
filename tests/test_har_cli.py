"""``inspector har export`` and ``inspector har import``: a capture goes
out as HAR and comes back whole; bad input is one line, exit 2, and leaves
no file behind."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.core.decode import decode_body
from inspector.core.flow import Flow
from inspector.core.session import Session
from inspector.proxy.session_writer import SessionWriter
from tests.proxy.harness import Origin, Received, Reply, running_proxy

DATA = Path(__file__).resolve().parent / "data" / "har"


async def _answer(req: Received) -> Reply:
    target = req.target
    if target.startswith(b"/gzip"):
        body = gzip.compress(b'{"packed": true}' * 50)
        return Reply(
            200, [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")], body
        )
    if target.startswith(b"/binary"):
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], bytes(range(256)) * 9)
    if target.startswith(b"/missing"):
        return Reply(404, [(b"Content-Type", b"text/plain")], b"no such thing")
    return Reply(
        200,
        [(b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", b"sid=abc; Path=/")],
        "<p>héllo</p>".encode(),
    )


def _capture(path: Path) -> None:
    async def scenario() -> None:
        writer = SessionWriter.open(path, 1 << 30)
        await writer.start()
        async with Origin(_answer) as origin, running_proxy() as proxy:
            proxy.server.ctx.recorder.on_settled = writer.settled
            client = await proxy.client()
            await client.request("GET", f"{origin.base}/page?token=s3cret&x=1")
            await client.request(
                "POST",
                f"{origin.base}/form",
                headers=[
                    (b"Content-Type", b"application/x-www-form-urlencoded"),
                    (b"Authorization", b"Bearer abc.def"),
                    (b"Cookie", b"sid=abc"),
                ],
                body=b"user=ada&password=hunter2",
            )
            await client.request("GET", f"{origin.base}/gzip")
            await client.request("GET", f"{origin.base}/binary")
            await client.request("GET", f"{origin.base}/missing")
            client.close()
            await proxy.wait_flows(5)
        await writer.close()

    asyncio.run(scenario())


def _content(body: bytes, headers: object) -> str:
    """A body's hash as HAR keeps it: decoded (a compressed body comes back
    compressed again, its bytes those of another compressor run)."""
    encoding = next((v for n, v in headers if n.lower() == b"content-encoding"), None)  # type: ignore[attr-defined]
    decoded = decode_body(body, encoding)
    return hashlib.sha256(decoded.data).hexdigest()


def _digest(flow: Flow) -> tuple[object, ...]:
    response = flow.response
    assert response is not None
    return (
        flow.request.method,
        flow.request.url,
        response.status,
        [(n.lower(), v) for n, v in flow.request.headers],
        [(n.lower(), v) for n, v in response.headers],
        hashlib.sha256(flow.request.body).hexdigest(),
        _content(response.body, response.headers),
    )


def test_capture_export_import_keeps_every_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    captured = tmp_path / "captured.inspector"
    _capture(captured)
    har = tmp_path / "out.har"
    assert main(["har", "export", str(captured), str(har), "--include-secrets"]) == 0
    assert capsys.readouterr().out == "exported 5 flows\n"
    imported = tmp_path / "imported.inspector"
    assert main(["har", "import", str(har), str(imported)]) == 0
    assert capsys.readouterr().out == "imported 5 flows (0 with errors)\n"
    with Session.open(captured) as before, Session.open(imported) as after:
        originals = list(before.flows(by_start=True))
        copies = list(after.flows())
    assert [f.id for f in copies] == [1, 2, 3, 4, 5]
    assert all(f.imported for f in copies)
    for original, copy in zip(originals, copies, strict=True):
        assert _digest(copy) == _digest(original)


def test_export_redacts_secrets_by_default(tmp_path: Path) -> None:
    captured = tmp_path / "captured.inspector"
    _capture(captured)
    har = tmp_path / "out.har"
    assert main(["har", "export", str(captured), str(har)]) == 0
    text = har.read_text(encoding="utf-8")
    for secret in ("s3cret", "hunter2", "abc.def", "sid=abc"):
        assert secret not in text
    entries = json.loads(text)["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 200, 200, 200, 404]


def test_export_of_listed_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    captured = tmp_path / "captured.inspector"
    _capture(captured)
    ids = tmp_path / "ids.txt"
    ids.write_text("2\n4\n")
    har = tmp_path / "some.har"
    assert main(["har", "export", str(captured), str(har), "--ids", str(ids)]) == 0
    assert capsys.readouterr().out == "exported 2 flows\n"
    urls = [e["request"]["url"] for e in json.loads(har.read_text())["log"]["entries"]]
    assert [u.split("/")[-1] for u in urls] == ["form", "binary"]


@pytest.mark.parametrize("sample", sorted(p.name for p in DATA.glob("*.har")))
def test_browser_and_tool_hars_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample: str
) -> None:
    session = tmp_path / "s.inspector"
    assert main(["har", "import", str(DATA / sample), str(session)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("imported ") and line.endswith(" with errors)")
    with Session.open(session) as opened:
        flows = list(opened.flows())
    assert flows and [f.id for f in flows] == list(range(1, len(flows) + 1))
    starts = [f.t_start for f in flows]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json at all", b'{"log": {}}', b'{"log": {"entries": {}}}', b"[1, 2, 3]"],
    ids=["empty", "not-json", "no-entries", "entries-not-array", "array"],
)
def test_import_of_what_is_not_har(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    har = tmp_path / "in.har"
    har.write_bytes(content)
    session = tmp_path / "s.inspector"
    assert main(["har", "import", str(har), str(session)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("s.inspector*"))


def test_import_counts_bad_entries_and_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 1,
        "request": {"method": "GET", "url": "http://example.com/", "headers": []},
        "response": {"status": 200, "statusText": "OK", "headers": [], "content": {}},
    }
    har = tmp_path / "in.har"
    har.write_text(json.dumps({"log": {"entries": [good, 42, {"request": {}}, good]}}))
    session = tmp_path / "s.inspector"
    assert main(["har", "import", str(har), str(session)]) == 0
    assert capsys.readouterr().out == "imported 4 flows (2 with errors)\n"
    with Session.open(session) as opened:
        assert opened.info().flows == 4


def test_import_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = tmp_path / "s.inspector"
    session.write_bytes(b"precious")
    assert main(["har", "import", str(DATA / "chrome.har"), str(session)]) == 2
    assert session.read_bytes() == b"precious"
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_export_of_what_is_not_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.inspector"
    bogus.write_text("hello")
    out = tmp_path / "out.har"
    assert main(["har", "export", str(bogus), str(out)]) == 2
    assert not out.exists() and not list(tmp_path.glob(".out.har*"))
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_export_of_matching_flows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    captured = tmp_path / "captured.inspector"
    _capture(captured)
    har = tmp_path / "some.har"
    expr = "status:2xx -path:/gzip (method:POST or resheader:set-cookie)"
    assert main(["har", "export", str(captured), str(har), "--filter", expr]) == 0
    assert capsys.readouterr().out == "exported 2 flows\n"
    urls = [e["request"]["url"] for e in json.loads(har.read_text())["log"]["entries"]]
    assert [u.split("?")[0].split("/")[-1] for u in urls] == ["page", "form"]


def test_export_with_a_malformed_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    captured = tmp_path / "captured.inspector"
    _capture(captured)
    out = tmp_path / "out.har"
    assert main(["har", "export", str(captured), str(out), "--filter", "status:4xx or"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inspector: --filter:") and len(err.strip().splitlines()) == 1
    assert not out.exists()
