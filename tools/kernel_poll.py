"""Sphinx extension (and helper): the build never waits minutes for a kernel message that arrived.

The site build executes every chapter with nbclient, whose asynchronous kernel client waits for
each message with ``await socket.poll(timeout)`` on a ``zmq.asyncio`` socket. pyzmq's asyncio
sockets wait on libzmq's *edge-triggered* file descriptor (pyzmq #1021), and an edge can be
consumed without waking the waiter: the reply is then in the socket, but the coroutine sleeps on
until its timeout, when pyzmq's final zero-wait poll finds it and execution goes on as if nothing
had happened. With the book's 180-s cell timeout that was a chapter taking 188 s instead of 8:
chapter 19's build time, after its widget cell (``widgets.demo``), in about one run in four of
the site build and of nbclient alone (measured here: a gap of 179–180 s between one cell's
``idle`` status and the next cell's start, with the kernel idle throughout; ipykernel 6.31 and
7.4 alike).

``patch()`` makes ``AsyncZMQSocketChannel.get_msg`` poll in slices of ``SLICE`` seconds up to
the caller's timeout (or forever when there is none), so a missed edge costs at most one slice.
Sphinx loads this module from ``_config.yml`` (``sphinx.local_extensions``) before any notebook
runs; ``tools/check_chapter.py`` calls ``patch()`` too. nbval (``make test-book``) uses the
blocking client, whose ``zmq_poll`` is level-triggered and unaffected.
"""
from __future__ import annotations

import time
from queue import Empty

SLICE = 0.25          # seconds: the longest a message can sit unnoticed in the socket


async def get_msg(self, timeout: float | None = None) -> dict:
    """``AsyncZMQSocketChannel.get_msg`` polling in slices: the same result, no missed wake-up."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        step = SLICE if left is None else min(SLICE, left)
        if await self.socket.poll(int(step * 1000)):
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


def patch() -> None:
    """Install :func:`get_msg` on jupyter_client's asynchronous channel (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    AsyncZMQSocketChannel.get_msg = get_msg


def setup(app):
    patch()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
