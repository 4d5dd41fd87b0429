"""Fixtures of the browser tests: the built site (`make site`), a local server, Debian's Chromium,
and `visit(viewport)`, a page opened in a fresh context that only reaches 127.0.0.1."""
from __future__ import annotations

import fcntl
import functools
import http.server
import os
import subprocess
import threading

import pytest

from _site import CHROMIUM, CHROMIUM_ARGS, DESKTOP, HTML, ROOT, Visit


@pytest.fixture(scope="session")
def site():
    """_build/html, (re)built by `make site` if missing or stale. Under pytest-xdist (`make
    test-site` runs two workers) the first worker builds while the other waits for the lock, then
    finds the site up to date."""
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["make", "--no-print-directory", "site"], cwd=ROOT, check=True)
    assert (HTML / "index.html").is_file()
    return HTML


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (installs Debian's chromium "
                    "as root) or `apt-get install -y chromium`, or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def visit(browser, server):
    visits = []

    def open_visit(viewport=DESKTOP):
        v = Visit(browser, server, viewport)
        visits.append(v)
        return v

    yield open_visit
    for v in visits:
        v.close()
