"""Headless chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe).

The protocol's JSON messages, NUL-terminated, go in on fd 3 and come out on fd 4: no port, no
websocket library, no node. Only what the board's browser test needs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
]


class CdpError(RuntimeError):
    """The browser answered a command with an error, or not in time."""


class Chromium:
    """One headless chromium process and one page in it."""

    def __init__(self, binary: str, profile_dir: Path, *, timeout: float = 30) -> None:
        # Its chatter goes to a file: an unread pipe would fill up and stall the browser.
        self.log_path = profile_dir.with_suffix(".log")
        self._log = self.log_path.open("wb")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The protocol wants exactly fds 3 and 4 in the browser: bash moves them there (dash
        # takes single-digit fds only).
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
             "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout = timeout
        self.session = ""
        self.events: list[dict[str, Any]] = []
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self._open_page()
        except BaseException:
            self.close()
            raise

    def _open_page(self) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.page(f"{domain}.enable")

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    self._answers.put(message)
                else:
                    self.events.append(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command (to the browser, or to the page's session) and wait for its answer."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                answer = self._answers.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise CdpError(f"no answer to {method} in {self.timeout} s") from None
            if answer["id"] == self._next_id:
                break
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        """A command to the page."""
        return self.call(method, self.session, **params)

    def wait_for_event(self, method: str, after: int) -> dict[str, Any]:
        """The first ``method`` event among those received after the ``after``-th."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event.get("method") == method:
                    return event
            time.sleep(0.02)
        raise CdpError(f"no {method} event in {self.timeout} s")

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait until it has loaded."""
        mark = len(self.events)
        self.page("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired", mark)

    def evaluate(self, expression: str) -> Any:
        """Read something from the page (DevTools' own evaluation; the page's CSP does not apply)."""
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    def dom(self) -> str:
        """The page's DOM as HTML, as --dump-dom prints it."""
        root = self.page("DOM.getDocument", depth=-1)["root"]["nodeId"]
        html: str = self.page("DOM.getOuterHTML", nodeId=root)["outerHTML"]
        return html

    def viewport(self, width: int, height: int, *, mobile: bool) -> None:
        """Emulate a screen of this size (a phone when ``mobile``)."""
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """The whole page (or what the screen shows) as a PNG."""
        if full_page:
            size = self.page("Page.getLayoutMetrics")["cssContentSize"]
            data = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": size["width"],
                                   "height": min(size["height"], 6000), "scale": 1})["data"]
        else:
            data = self.page("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        """End the browser."""
        with contextlib.suppress(CdpError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        self._reader.join(5)
        os.close(self._from_browser)
        self._log.close()
