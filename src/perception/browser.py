"""One headless Chromium per process, for the chart images and the PDF briefs.

kaleido 1.x drives a local Chrome or Chromium (Debian: ``apt-get install -y chromium``) found
on PATH by :func:`find_browser`, and renders with the plotly.js bundled in the plotly package.
Two of its defaults would reach the internet, so both are switched off: MathJax (not loaded)
and the world topojson of geo subplots (registered empty, as in the dashboard's page). The
browser runs in a background thread and lives until the process ends: :func:`start` opens it
ahead of its first use (it takes ~2 s), and the chart images of a run and its two PDF briefs
are then drawn and printed without starting a browser each.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import importlib
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from perception.errors import PerceptionError

__all__ = ["find_browser", "print_pdfs", "render_images", "start"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
TIMEOUT_S = 120
#: Chromium's own ``--print-to-pdf`` settings: the page's @page size, backgrounds, no header.
_PRINT = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}
_HINT = "install Chromium (Debian: apt-get install -y chromium); it is looked for on PATH"
T = TypeVar("T")


def find_browser() -> str:
    """Return the path of a Chromium or Chrome executable.

    Raises
    ------
    PerceptionError
        If none is on PATH.

    """
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PerceptionError(
        "Chart images and PDF briefs need Chromium or Chrome",
        expected=f"one of {', '.join(BROWSERS)} on PATH",
        found="none",
        hint=_HINT + "; the dashboard and the Word briefs are written without it",
    )


class _Session:
    """A kaleido browser with its page loaded, run by an event loop in a daemon thread."""

    def __init__(self, executable: str) -> None:
        self.executable, self.pid = executable, os.getpid()
        self.scratch = tempfile.TemporaryDirectory(prefix="perception-browser-")
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.browser: Future[Any] = asyncio.run_coroutine_threadsafe(self._open(), self.loop)

    async def _open(self) -> Any:
        """Start the browser and load kaleido's page in its tab."""
        # Here, not at the top: perception.dashboard imports this module.
        from perception.dashboard.geo import GEO_ASSETS_SCRIPT

        kaleido = importlib.import_module("kaleido")  # 0.4 s of imports, in this thread

        assets = Path(self.scratch.name) / "geo_assets.js"
        assets.write_text(GEO_ASSETS_SCRIPT, encoding="utf-8")
        page = kaleido.PageGenerator(mathjax=False, others=[str(assets)])
        browser = kaleido.Kaleido(page_generator=page, path=self.executable)
        # kaleido reloads its page after every figure (0.1-0.4 s each, most of a chart's time);
        # plotly.js's toImage removes the plot it draws, so the next one starts clean without.
        browser._return_kaleido_tab = browser.tabs_ready.put
        await browser.open()
        return browser

    def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work(browser)`` in the browser's loop and return its result."""

        async def call() -> T:
            return await work(await asyncio.wrap_future(self.browser))

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(TIMEOUT_S * 2)

    def close(self) -> None:
        """Close the browser (if it opened), stop the loop and delete the scratch folder."""
        if self.pid == os.getpid():  # a forked child leaves its parent's browser alone

            async def shut() -> None:
                await (await asyncio.wrap_future(self.browser)).close()

            with contextlib.suppress(Exception):  # a broken browser: nothing to keep
                asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.scratch.cleanup()


_SESSION: _Session | None = None
_LOCK = threading.Lock()


def _session(executable: str) -> _Session:
    """Return this process's browser session, opening one for ``executable`` when needed."""
    global _SESSION  # one browser per process
    with _LOCK:
        if _SESSION is None or _SESSION.pid != os.getpid() or _SESSION.executable != executable:
            if _SESSION is not None:
                _SESSION.close()
            _SESSION = _Session(executable)
        return _SESSION


def _discard(session: _Session) -> None:
    """Close a session that failed, so that the next use starts a new browser."""
    global _SESSION
    with _LOCK:
        if _SESSION is session:
            _SESSION = None
    session.close()


@atexit.register
def _close_at_exit() -> None:
    """Close the browser when the process ends."""
    if _SESSION is not None:
        _SESSION.close()


def start() -> None:
    """Start the browser in the background, ahead of its first use; nothing without one."""
    with contextlib.suppress(PerceptionError):  # its first use says so
        _session(find_browser())


def _use(work: Callable[[Any], Awaitable[T]], what: str) -> T:
    """Run ``work`` in the browser; a browser that fails is replaced and tried once more.

    A loaded machine can make the browser lose a page or run a chart before its page's
    scripts have loaded (JavascriptError "kaleido_scopes is not defined").
    """
    executable = find_browser()
    session = _session(executable)
    errors = importlib.import_module("kaleido.errors")  # imported by the session's thread
    protocol = importlib.import_module("choreographer.errors")
    failed = (errors.KaleidoError, protocol.DevtoolsProtocolError, RuntimeError, OSError)
    found = ""
    for attempt in (1, 2):  # RuntimeError: the browser's and JavaScript's errors; OSError: timeout
        if attempt == 2:
            session = _session(executable)
        try:
            return session.run(work)
        except failed as exc:
            _discard(session)
            found = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
    raise PerceptionError(
        f"The browser failed to {what}",
        expected=f"{executable} (headless) doing it",
        found=found,
        hint="run again (the charts that are missing or changed are drawn again); check that "
        f"Chromium starts headless ({executable} --headless --no-sandbox)",
    )


def render_images(jobs: Sequence[dict[str, Any]]) -> None:
    """Draw kaleido jobs (``fig``, ``path``, ``opts`` each) to their paths."""

    async def draw(browser: Any) -> None:
        await browser.write_fig_from_object(list(jobs), cancel_on_error=True)

    _use(draw, "draw the chart images")


def print_pdfs(pages: Sequence[str]) -> list[bytes]:
    """Print HTML pages to PDF (A4 or their @page size), side by side; return each PDF's bytes.

    Each page is loaded from a file in a tab of its own; it must need nothing from the network.
    """

    async def printed(browser: Any, source: Path) -> bytes:
        tab = await browser.create_tab(source.as_uri())
        try:
            loaded = f"complete {source.as_uri()}"
            while await _evaluate(tab, "document.readyState + ' ' + location.href") != loaded:
                await asyncio.sleep(0.01)
            reply = await tab.send_command("Page.printToPDF", params=_PRINT)
        finally:
            await browser.close_tab(tab)
        if "error" in reply:
            raise RuntimeError(str(reply["error"]))
        return base64.b64decode(reply["result"]["data"])

    with tempfile.TemporaryDirectory(prefix="perception-pdf-") as scratch:
        sources = [Path(scratch) / f"page{number}.html" for number in range(len(pages))]
        for source, page in zip(sources, pages, strict=True):
            source.write_text(page, encoding="utf-8")

        async def print_all(browser: Any) -> list[bytes]:
            return list(await asyncio.gather(*(printed(browser, s) for s in sources)))

        return _use(print_all, "print the PDF briefs")


async def _evaluate(tab: Any, expression: str) -> Any:
    """Return the value of a JavaScript expression in a tab."""
    reply = await tab.send_command(
        "Runtime.evaluate", params={"expression": expression, "returnByValue": True}
    )
    return reply.get("result", {}).get("result", {}).get("value")
