"""The full command line, and after it the record that lets asyncfix/warm.py answer the
same `check` next time without importing it.

A record is written only for a run the result cache could serve whole: after the command
line's own run, the same run is asked of the cache again (a probe: a miss stops it, never
runs the codemods) while discovery is traced. Its output is rendered by the command line's
own functions, so the warm path prints what the command line would print for a run served
from the cache. It is written only when the probe saw the run the command line did (the
same run key), the tree did not change around it, and discovery reported no error.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import marshal
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncfix import warm

if TYPE_CHECKING:
    from collections.abc import Iterable

    from asyncfix.config import Config


def run_and_record(options: warm.Options | None) -> None:
    """Run the command line on sys.argv; then, for a `check` the warm path knows whose
    run the cache served or stored, leave a record (never a visible difference: any
    failure only means no record)."""
    from asyncfix.cache import watching
    from asyncfix.cli import main
    from asyncfix.files import traced

    if options is None:
        main()
        return
    with watching() as seen, traced() as trace:
        try:
            main()
        finally:
            key = _worth_recording(options, seen)
            # (a tree the warm path cannot vouch for, as symbolic links make it: no probe)
            if key is not None and warm.walk_unchanged(trace):
                with contextlib.suppress(Exception, KeyboardInterrupt):
                    record(options, key, seen["config"])


def _worth_recording(options: warm.Options, seen: dict[str, Any]) -> str | None:
    """The run key to record: a run the cache served (a rerun, likely to come again), or
    one it stored for directories (a project's check, rerun as the project's is). Files
    named as pre-commit names them have usually just changed: a record after their first
    run would only make that run longer."""
    if seen.get("stored") is not None:
        paths = options.paths or (".",)
        return seen["stored"] if any(os.path.isdir(p) for p in paths) else None
    served = seen.get("served")
    return None if served is None else str(served[1])


def record(options: warm.Options, expected: str, config: Config) -> None:
    """Write the record of `options` if a probe with the command line's `config` is
    served the run `expected`."""
    from asyncfix import cache, files
    from asyncfix.driver import run
    from asyncfix.shard import parse_shard

    before = warm.state_digest(options)
    paths = [Path(p) for p in options.paths]
    shard = parse_shard(options.shard) if options.shard is not None else None
    with files.traced() as trace, cache.watching(probe=True) as seen:
        try:
            result = run(paths or [Path(".")], config, jobs=1, cache=True, shard=shard)
        except cache.NotServed:
            return
    served = seen.get("served")
    if served is None or served[1] != expected:
        return
    if len(result.errors) != sum(len(o.errors) for o in result.outcomes):
        return  # discovery's own errors (links, unreadable directories): not recorded
    if warm.state_digest(options) != before or not warm.walk_unchanged(trace):
        return  # the tree changed meanwhile
    now = time.time_ns()
    rows = []
    for display, path in seen["files"]:
        found = warm.stamped(path, now)
        if found is None:
            return
        rows.append((display, path, found[0], hashlib.sha256(found[1]).digest()))
    digests = [(display, path, sha) for display, path, _, sha in rows]
    directories: dict[str, str] = {}
    if warm.run_key(served[0], shard, seen["given"], digests, directories) != served[1]:
        return  # a file changed since the probe read it
    package = warm.package_stamps(now)
    if package[0] != warm.package_digest():
        return  # asyncfix's source changed since the run read it
    blob = marshal.dumps(
        {
            "format": warm.RECORD_FORMAT,
            "state": before,
            "trace": [tuple(step) for step in trace],
            "salt": served[0],
            "run_key": served[1],
            "shard": shard,
            "given": seen["given"],
            "files": rows,
            "package": package,
            "project": _project_stamps(directories, {path for _, path in seen["files"]}, now),
            "out": _outputs(result, options),
        }
    )
    directory = cache.default_directory().absolute()
    cache.ResultCache(directory, served[0]).put_warm(warm.invocation_key(options), blob)


def _project_stamps(directories: Iterable[str], files: set[str], now: int) -> dict[str, warm.Known]:
    """The project files a run key read in `directories` (but the run's own files), each
    with its stamp and sha256, so that the warm path reads none whose stamp is unchanged."""
    known: dict[str, warm.Known] = {}
    for directory in directories:
        for name in warm.project_names(directory):
            path = os.path.join(directory, name)
            found = None if path in files else warm.stamped(path, now)
            if found is not None and found[0] is not None:
                known[path] = (found[0], hashlib.sha256(found[1]).digest())
    return known


def _outputs(result: Any, options: warm.Options) -> dict[str, Any]:
    """What `check` prints for `result`, rendered by the command line's own functions;
    the summary split around its run time."""
    from asyncfix.cli import warn_unknown_suppressions
    from asyncfix.report import findings_json, github_annotations, statistics

    findings = result.findings
    marker = 987654.25
    result.summary.seconds = marker
    head, found, tail = result.summary.format(wrote=False).partition(f"{marker:.2f}")
    if not found:
        raise ValueError("no run time in the summary")
    warnings = io.StringIO()
    with contextlib.redirect_stderr(warnings):
        warn_unknown_suppressions(result)
    out: dict[str, Any] = {
        "text": "".join(f.format() + "\n" for f in findings),
        "json": findings_json(findings, result.errors, result.summary, None),
        "github": github_annotations(findings, result.errors),
        "summary": (head, tail),
        "warnings": warnings.getvalue(),
        "errors": "".join(e.format() + "\n" for e in result.errors),
        "findings": bool(findings),
        "failed": bool(result.errors),
    }
    if options.statistics or "asyncfix.codemods.base" in sys.modules:
        from asyncfix.codemods import all_rules  # (the registry is loaded already)

        names = {code: rule.name for code, (_, rule) in all_rules().items()}
        out["statistics"] = statistics(findings, names)
    return out
