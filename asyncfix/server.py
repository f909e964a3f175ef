"""`asyncfix server`: a language server over stdio (pygls), as `ruff server` is.

Diagnostics on open, save and change (debounced), each from the configuration of the
file's own project; a quick fix per fixable finding and "fix all" as code actions; the
rule's `asyncfix explain` text on hover. Every edit is the output of the pipeline that
`asyncfix apply` runs, on the buffer's text: the whole file's fix is what apply would
write, one finding's fix is apply with every other finding suppressed.

A buffer is planned within its project, as `asyncfix apply FILE` plans it: the cross-file
rules see every file of the project (open buffers as typed, the others as on disk), and a
fix that would need another file changed is not offered (the finding says why). The
project's index (its files, their bytes, their facts) stays warm between runs: a file
changing on disk (`workspace/didChangeWatchedFiles`) or in another buffer drops only its
own entry, and the open buffers are checked again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from asyncfix import __version__
from asyncfix.cli import explanation
from asyncfix.codemods import RegistryError
from asyncfix.config import Config, ConfigError, find_pyproject, load_config
from asyncfix.driver import ProjectView, RunResult, fix_of, project_view, run_source
from asyncfix.files import SourceError, SourceFile, display_path, read_bytes
from asyncfix.formatting import FormatError
from asyncfix.index import ModuleInfo, index_module, use_layout
from asyncfix.project import Layout, project_root
from asyncfix.report import Finding
from asyncfix.review import rewrites

T = TypeVar("T")

# Typing pauses shorter than this coalesce into one run.
DEBOUNCE_SECONDS = 0.3
FIX_ALL = "source.fixAll.asyncfix"


@dataclass(frozen=True)
class Checked:
    """The last run over one buffer's text."""

    text: str
    findings: tuple[Finding, ...]


@dataclass
class WarmProject:
    """One project's index, kept between runs: its files and layout, their bytes on disk
    and their facts (with the bytes they were made from). A file changing drops its own
    entries; files coming or going, or the configuration changing, drop the project."""

    root: Path
    files: list[SourceFile]
    layout: Layout
    disk: dict[str, bytes | SourceError] = field(default_factory=dict)
    facts: dict[str, tuple[bytes, ModuleInfo | None]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, file: SourceFile, config: Config) -> WarmProject:
        """The project at `root` around `file`, as `asyncfix apply FILE` finds it."""
        cold = project_view(file, config)
        return cls(root, list(cold.files), cold.layout)

    def forget(self, path: Path) -> bool:
        """`path` changed on disk: read it, and index it, again. False when it is none of
        the project's files (a new one: the project must be read again)."""
        known = False
        for file in self.files:
            if os.path.realpath(file.path) == os.path.realpath(path):
                self.disk.pop(file.display, None)
                self.facts.pop(file.display, None)
                known = True
        return known

    def view(self, buffers: Mapping[str, bytes]) -> ProjectView:
        """The project as the run sees it: `buffers` (display path -> text) over the disk;
        the facts of every file, made again only for the bytes that changed."""
        use_layout(self.layout)  # the facts' module names are the layout's
        contents: dict[str, bytes | SourceError] = {}
        modules: dict[str, ModuleInfo | None] = {}
        for file in self.files:
            if file.display in buffers:
                data: bytes | SourceError = buffers[file.display]
            else:
                if file.display not in self.disk:
                    try:
                        self.disk[file.display] = read_bytes(file.path)
                    except SourceError as exc:
                        self.disk[file.display] = exc
                data = self.disk[file.display]
            contents[file.display] = data
            if isinstance(data, bytes):
                known = self.facts.get(file.display)
                if known is None or known[0] != data:
                    known = self.facts[file.display] = (data, index_module(file, data))
                modules[file.display] = known[1]
        return ProjectView(self.files, contents, modules, self.layout)


class AsyncfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("asyncfix", __version__)
        # One run at a time, off the event loop: the pipeline's caches are per process.
        self.runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncfix")
        self.checked: dict[str, Checked] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        # Project root -> its warm index; touched only on the runner's thread.
        self.projects: dict[Path, WarmProject] = {}

    async def in_runner(self, func: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.runner, func)


server = AsyncfixServer()


def _file(uri: str) -> SourceFile:
    path = Path(os.path.abspath(to_fs_path(uri) or uri))
    return SourceFile(path, display_path(path))


def _config(file: SourceFile) -> Config:
    """The configuration of the file's own project, read afresh: it may have changed."""
    return load_config(find_pyproject(file.path))


def _project(file: SourceFile, config: Config, buffers: Mapping[str, bytes]) -> ProjectView | None:
    """The warm project around `file` (None outside any project: planned on its own)."""
    root = project_root([file.path])
    if root is None:
        return None
    if root not in server.projects:
        server.projects[root] = WarmProject.load(root, file, config)
    return server.projects[root].view(buffers)


def _buffers() -> dict[str, bytes]:
    """The open buffers' text (display path -> bytes), read on the event loop's thread."""
    return {
        _file(uri).display: document.source.encode("utf-8")
        for uri, document in list(server.workspace.text_documents.items())
    }


def _run(
    uri: str, text: str, buffers: Mapping[str, bytes], finding: Finding | None = None
) -> tuple[RunResult, Config]:
    """The pipeline over the buffer in its project; with `finding`, that finding's fix
    alone."""
    file, data = _file(uri), text.encode("utf-8")
    config = _config(file)
    project = _project(file, config, buffers)
    if finding is None:
        return run_source(file, data, config, project=project), config
    findings = server.checked[uri].findings
    return fix_of(file, data, config, finding, findings, project), config


def _fixed_text(
    uri: str, text: str, buffers: Mapping[str, bytes], finding: Finding | None = None
) -> str | None:
    """The buffer as `asyncfix apply` would leave it (only `finding` fixed when given),
    formatted as apply formats; None when nothing changes or the run failed."""
    result, config = _run(uri, text, buffers, finding)
    if result.errors:
        return None
    try:
        changes = rewrites(result.outcomes, "auto", config.source, annotated=False, jobs=1)
    except FormatError:
        return None
    return changes[0].new.decode("utf-8") if changes else None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _diagnostic(finding: Finding, lines: Sequence[str]) -> types.Diagnostic:
    line = lines[finding.line - 1] if finding.line <= len(lines) else ""
    start = _utf16(line[: finding.column - 1])
    end = _utf16(line.rstrip("\r\n"))
    tail = "" if finding.fixable else f" (manual review: {finding.reason})"
    return types.Diagnostic(
        range=types.Range(
            types.Position(finding.line - 1, start), types.Position(finding.line - 1, end)
        ),
        message=finding.message + tail,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source="asyncfix",
        data={"fixable": finding.fixable, "line": finding.line, "code": finding.code},
    )


async def _check(ls: AsyncfixServer, uri: str) -> None:
    document = ls.workspace.get_text_document(uri)
    text, version, buffers = document.source, document.version, _buffers()
    try:
        result, _ = await ls.in_runner(lambda: _run(uri, text, buffers))
    except (ConfigError, RegistryError) as exc:
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Error, str(exc)))
        return
    if ls.workspace.get_text_document(uri).version != version:
        return  # typed on since: a newer run is on its way
    ls.checked[uri] = Checked(text, tuple(result.findings))
    lines = text.splitlines(keepends=True)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri,
            version=version,
            diagnostics=[_diagnostic(f, lines) for f in result.findings],
        )
    )


def _forget(ls: AsyncfixServer, path: Path, *, whole: bool = False) -> None:
    """`path` changed on disk: its project's entries for it go (`whole`: the project's
    index goes, as when files come or go or its configuration changes). Runner only."""
    for root in [r for r in ls.projects if Path(os.path.realpath(path)).is_relative_to(r)]:
        if whole or (not ls.projects[root].forget(path) and path.suffix == ".py"):
            del ls.projects[root]  # (a file saved for the first time is new to it too)


async def _check_others(ls: AsyncfixServer, uri: str) -> None:
    """The other open buffers of `uri`'s project, checked again: they may use its code."""
    root = project_root([_file(uri).path])
    if root is None:
        return
    for other in list(ls.checked):
        if other != uri and project_root([_file(other).path]) == root:
            await _check(ls, other)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: AsyncfixServer, params: types.DidOpenTextDocumentParams) -> None:
    await _check(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: AsyncfixServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    await ls.in_runner(lambda: _forget(ls, _file(uri).path))
    await _check(ls, uri)
    await _check_others(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: AsyncfixServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.pending:
        ls.pending[uri].cancel()

    async def later() -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        ls.pending.pop(uri, None)
        await _check(ls, uri)
        await _check_others(ls, uri)

    ls.pending[uri] = asyncio.ensure_future(later())


@server.feature(types.INITIALIZED)
async def initialized(ls: AsyncfixServer, params: types.InitializedParams) -> None:
    """Ask to hear of configuration and Python files changing, where the client lets a
    server ask."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if watched is None or not watched.dynamic_registration:
        return
    watchers = [types.FileSystemWatcher(glob_pattern=p) for p in ("**/pyproject.toml", "**/*.py")]
    registration = types.Registration(
        id="asyncfix-configuration",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    await ls.client_register_capability_async(types.RegistrationParams([registration]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(
    ls: AsyncfixServer, params: types.DidChangeWatchedFilesParams
) -> None:
    """Files changed on disk: the warm indexes forget them (the whole project's, for a
    configuration or a file coming or going), and every open buffer is checked again."""

    def forget() -> None:
        for change in params.changes:
            path = _file(change.uri).path
            whole = path.name == "pyproject.toml" or change.type != types.FileChangeType.Changed
            _forget(ls, path, whole=whole)

    await ls.in_runner(forget)
    for uri in list(ls.checked):
        await _check(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: AsyncfixServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.checked.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    # Closed unsaved, the file is what is on disk again: the others see that.
    await _check_others(ls, uri)


def _whole(text: str) -> types.Range:
    lines = text.splitlines(keepends=True)
    if not lines or lines[-1].endswith(("\n", "\r")):
        return types.Range(types.Position(0, 0), types.Position(len(lines), 0))
    return types.Range(types.Position(0, 0), types.Position(len(lines) - 1, _utf16(lines[-1])))


def _edit(uri: str, version: int | None, old: str, new: str) -> types.WorkspaceEdit:
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    edit = types.TextEdit(range=_whole(old), new_text=new)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=document, edits=[edit])]
    )


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL],
        resolve_provider=False,
    ),
)
async def code_action(
    ls: AsyncfixServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    checked = ls.checked.get(uri)
    if checked is None or checked.text != document.source:
        return None  # not checked as it is now: diagnostics for it are on their way
    text, version, buffers = document.source, document.version, _buffers()
    wanted = params.context.only
    actions: list[types.CodeAction] = []
    first, last = params.range.start.line + 1, params.range.end.line + 1
    quick = wanted is None or types.CodeActionKind.QuickFix in wanted
    here = [f for f in checked.findings if f.fixable and first <= f.line <= last]
    for finding in here if quick else []:
        new = await ls.in_runner(lambda f=finding: _fixed_text(uri, text, buffers, f))  # type: ignore[misc]
        if new is not None:
            actions.append(
                types.CodeAction(
                    title=f"asyncfix: fix {finding.code} ({finding.message.split(';')[0]})",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[d for d in params.context.diagnostics if d.code == finding.code],
                    edit=_edit(uri, version, text, new),
                    is_preferred=True,
                )
            )
    fix_all = wanted is None or any(FIX_ALL.startswith(kind) for kind in wanted)
    if fix_all and any(f.fixable for f in checked.findings):
        new = await ls.in_runner(lambda: _fixed_text(uri, text, buffers))
        if new is not None:
            actions.append(
                types.CodeAction(
                    title="asyncfix: fix all asyncfix findings in this file",
                    kind=FIX_ALL,
                    edit=_edit(uri, version, text, new),
                )
            )
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: AsyncfixServer, params: types.HoverParams) -> types.Hover | None:
    """On a finding's line: what `asyncfix explain CODE` says of each rule there."""
    checked = ls.checked.get(params.text_document.uri)
    if checked is None:
        return None
    codes = sorted({f.code for f in checked.findings if f.line == params.position.line + 1})
    texts = [text for code in codes if (text := explanation(code)) is not None]
    if not texts:
        return None
    body = "\n\n".join(f"```text\n{text}```" for text in texts)
    return types.Hover(contents=types.MarkupContent(types.MarkupKind.Markdown, body))


def main() -> None:
    server.start_io()
