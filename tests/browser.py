"""Headless Chromium for the tests: find it, run it on a loopback page, read what it logged.

Debian's ``chromium`` package (``apt-get install chromium``; .ci/run installs it) is used as it
is: each run gets a fresh profile, no sandbox (tests run as root), no GPU, no background
traffic, and a host resolver that resolves nothing, so a page cannot reach past 127.0.0.1
even if it tried. ``PAPERWIRE_TEST_CHROMIUM`` names another binary.

Chromium writes every console message of the page (errors, CSP violations, failed loads, a
script's own ``console.log``) to stderr under ``--enable-logging=stderr`` as a line with
``CONSOLE`` in it; ``BrowserRun.console`` holds those messages.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import struct
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "BrowserRun",
    "Png",
    "console_messages",
    "find_chromium",
    "read_png",
    "require_chromium",
    "run_chromium",
]

# Flags for every run: headless, quiet, nothing fetched but the page.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-breakpad",
    "--mute-audio",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--enable-logging=stderr",
    "--v=0",
)
# "[pid:tid:date:INFO:CONSOLE:12] "message", source: url (12)"; older builds wrote
# "INFO:CONSOLE(12)". Lines Chromium logs about itself (D-Bus, GPU) are not the page's.
_GUARD = 90.0
_CONSOLE = re.compile(r"^\[[^\]]*:CONSOLE[:(][^\]]*\] ?(.*)$", re.MULTILINE)


def find_chromium() -> Path | None:
    """The Chromium binary: ``PAPERWIRE_TEST_CHROMIUM``, else ``chromium`` on the PATH."""
    named = os.environ.get("PAPERWIRE_TEST_CHROMIUM")
    if named:
        return Path(named) if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_chromium() -> Path:
    """The binary, or skip the test (outside CI) or fail it (in CI, where it must run)."""
    binary = find_chromium()
    if binary is not None:
        return binary
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: install chromium (see .ci/run)")
    pytest.skip("Chromium not found (apt-get install chromium)")


@dataclass(frozen=True, slots=True)
class BrowserRun:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def console(self) -> list[str]:
        return console_messages(self.stderr)


def console_messages(stderr: str) -> list[str]:
    """The page's console messages in Chromium's log, in order."""
    return [match.group(1) for match in _CONSOLE.finditer(stderr)]


async def run_chromium(binary: Path, url: str, args: Sequence[str] = ()) -> BrowserRun:
    """Run Chromium once on ``url`` with ``args`` (``--dump-dom``, ``--screenshot=...``) and a
    fresh profile. A browser that never exits is killed after _GUARD seconds (a guard against
    a hang, not a measure of speed: a run takes about a second)."""
    with tempfile.TemporaryDirectory(prefix="paperwire-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            *_FLAGS,
            f"--user-data-dir={profile}",
            *args,
            url,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: its helpers go when it goes
        )
        try:
            async with asyncio.timeout(_GUARD):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            raise AssertionError(f"Chromium did not finish with {url} in {_GUARD:.0f} s") from None
        finally:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
    return BrowserRun(process.returncode or 0, stdout, stderr.decode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class Png:
    width: int
    height: int
    distinct_rows: int  # how many different scanlines: a blank page has one or two


def read_png(data: bytes) -> Png:
    """Check ``data`` is a whole, uncorrupted 8-bit RGB(A) PNG and measure it (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in a {kind!r} chunk"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR", "a PNG starts with its header"
    assert chunks[-1][0] == b"IEND", "a PNG ends with IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {2: 3, 6: 4}.get(colour)
    assert depth == 8, f"unexpected PNG bit depth {depth}"
    assert channels, f"unexpected PNG colour type {colour}"
    assert interlace == 0, "unexpected interlaced PNG"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + width * channels
    assert len(raw) == height * stride, "PNG pixel data is truncated"
    rows = {raw[i * stride : (i + 1) * stride] for i in range(height)}
    return Png(width, height, len(rows))
