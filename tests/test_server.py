"""`asyncfix server` driven by a real LSP client (pygls's) over stdio, in a subprocess."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from asyncfix.cli import main

pytest.importorskip("pygls")
from lsprotocol import types
from pygls.lsp.client import LanguageClient

SOURCE = (
    "import time\n\n\nasync def handler():\n    time.sleep(1)\n    time.sleep(2)\n"
    "    return 'é'  # a non-ASCII line\n"
)
CONFIG = '[tool.asyncfix]\nselect = ["AF2"]\n'


class Client:
    def __init__(self, client: LanguageClient) -> None:
        self.lsp = client
        self.diagnostics: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
        def publish(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.put_nowait(params)

    async def published(self) -> types.PublishDiagnosticsParams:
        # A generous bound against a hung server, not a timing assertion.
        return await asyncio.wait_for(self.diagnostics.get(), 120)


@asynccontextmanager
async def _session(root: Path) -> AsyncIterator[Client]:
    lsp = LanguageClient("asyncfix-test", "1")
    client = Client(lsp)
    await lsp.start_io(sys.executable, "-m", "asyncfix", "server")
    await lsp.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="proj")],
        )
    )
    lsp.initialized(types.InitializedParams())
    try:
        yield client
    finally:
        await lsp.shutdown_async(None)
        lsp.exit(None)
        await lsp.stop()  # type: ignore[no-untyped-call]


def _apply(text: str, edit: types.WorkspaceEdit | None) -> str:
    """The text after a whole-document edit, as an editor applies it (UTF-16 columns)."""
    assert edit is not None and edit.document_changes
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    (text_edit,) = change.edits
    assert isinstance(text_edit, types.TextEdit)
    lines = text.splitlines(keepends=True)
    start, end = text_edit.range.start, text_edit.range.end

    def offset(line: int, character: int) -> int:
        before = sum(len(x) for x in lines[:line])
        units = lines[line].encode("utf-16-le")[: 2 * character] if line < len(lines) else b""
        return before + len(units.decode("utf-16-le"))

    return (
        text[: offset(start.line, start.character)]
        + text_edit.new_text
        + text[offset(end.line, end.character) :]
    )


def _apply_cli(root: Path, name: str, text: str, *args: str) -> str:
    path = root / name
    path.write_text(text)
    CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", *args, str(path)])
    return path.read_text()


def test_diagnostics_quick_fix_fix_all_and_hover(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(CONFIG)
    path = root / "app.py"
    uri = path.as_uri()

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with _session(root) as client:
            client.lsp.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
                )
            )
            published = await client.published()
            seen["diagnostics"] = published.diagnostics
            first = published.diagnostics[0]
            actions = await client.lsp.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri),
                    range=first.range,
                    context=types.CodeActionContext(diagnostics=[first]),
                )
            )
            seen["actions"] = actions
            seen["hover"] = await client.lsp.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), first.range.start)
            )
            # Typing: two quick changes, one run after the pause, on the newest text.
            for version, text in (
                (2, SOURCE.replace("(2)", "(3)")),
                (3, SOURCE.replace("(2)", "(4)")),
            ):
                client.lsp.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(
                            uri=uri, version=version
                        ),
                        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                    )
                )
            seen["changed"] = await client.published()
            # The project's configuration changes: the buffer is checked again with it.
            (root / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF203"]\n')
            client.lsp.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [
                        types.FileEvent(
                            (root / "pyproject.toml").as_uri(), types.FileChangeType.Changed
                        )
                    ]
                )
            )
            seen["reconfigured"] = await client.published()
        return seen

    seen = asyncio.run(scenario())
    (root / "pyproject.toml").write_text(CONFIG)  # as the server first read it, for apply
    diagnostics = seen["diagnostics"]
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("AF203", 4, 4),
        ("AF203", 5, 4),
    ]
    assert all(d.source == "asyncfix" for d in diagnostics)
    titles = {action.title: action for action in seen["actions"]}
    quick = next(a for a in seen["actions"] if a.kind == types.CodeActionKind.QuickFix)
    fix_all = titles["asyncfix: fix all asyncfix findings in this file"]
    # Fix all is what `asyncfix apply` writes; one quick fix leaves the other finding.
    assert _apply(SOURCE, fix_all.edit) == _apply_cli(root, "whole.py", SOURCE)
    one = _apply(SOURCE, quick.edit)
    assert "await asyncio.sleep(1)" in one and "    time.sleep(2)" in one
    compile(one, "one.py", "exec")
    # The rest of the file, fixed by apply afterwards, ends where fix all ends.
    assert _apply_cli(root, "rest.py", one) == _apply(SOURCE, fix_all.edit)
    assert "Why it matters" in seen["hover"].contents.value
    changed = seen["changed"]
    assert changed.version == 3
    assert [d.range.start.line for d in changed.diagnostics] == [4, 5]
    assert list(seen["reconfigured"].diagnostics) == []
