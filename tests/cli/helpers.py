"""Running the real `paperwire` command line in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.paths import REPO


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def paperwire(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> Result:
    """Run `python -m bot ARGS` in ``cwd`` with a clean environment plus ``env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAPERWIRE_", "SLACK_", "DISCORD_"))
        and k not in {"DATABASE_URL", "PORT"}
    }
    base["PYTHONPATH"] = str(REPO)
    base["PAPERWIRE_CONFIG"] = str(REPO / "config" / "paperwire.toml")
    base["PAPERWIRE_TOPICS_FILE"] = str(REPO / "config" / "topics.toml")
    base["DATABASE_URL"] = f"sqlite+aiosqlite:///{cwd / 'paperwire.db'}"
    base.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=base,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
