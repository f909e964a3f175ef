"""What lands in site-packages: one import name, `asyncfix`, and nothing generic."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_only_the_asyncfix_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("asyncfix-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"asyncfix"}
    assert "asyncfix/cli.py" in names
    assert "asyncfix/codemods/base.py" in names
    # Family packages and the shared code are subpackages: in the wheel too.
    assert "asyncfix/codemods/db_session/session.py" in names
    assert "asyncfix/codemods/shared/async_def_plan.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "asyncfix = asyncfix.warm:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
