"""Fixtures of the browser tests: the built site (`make site`), a local server, Debian's Chromium,
and `visit(viewport)`, a page opened in a fresh context that only reaches 127.0.0.1."""
from __future__ import annotations

import fcntl
import os
import subprocess

import pytest

from _site import CHROMIUM, DESKTOP, HTML, ROOT, Visit
from print_book import Server, launch


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
    """The site on 127.0.0.1, served as `make pdf` serves it (tools/print_book.py's Server)."""
    with Server(site) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (installs Debian's chromium "
                    "as root) or `apt-get install -y chromium`, or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)                       # as make pdf launches it
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
