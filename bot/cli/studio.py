"""`kebas studio`: serve the studio page on this computer only (docs/studio.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from types import FrameType

from bot.cli.shared import EXIT_OK, EXIT_USAGE, complain, given_paths

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (0: any free port); OSError when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = "127.0.0.1" if host == "localhost" else host
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    return listener


def cmd_studio(args: argparse.Namespace) -> int:
    """Check the content, then serve the page until Ctrl-C."""
    import uvicorn

    from bot.content.loader import shown_path
    from bot.studio.app import studio_app
    from bot.studio.workbench import Workbench
    if args.host not in LOOPBACK_HOSTS:
        complain(f"--host {args.host}: the studio serves this computer only; use "
                 f"{', '.join(LOOPBACK_HOSTS)}")
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        complain(f"--port {args.port}: give a port from 1 to 65535 (0: any free one)")
        return EXIT_USAGE
    paths = given_paths(args.paths)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        complain(f"there is no {' or '.join(missing)}; give the dialogs and locales folders")
        return EXIT_USAGE
    if paths[0].name == "locales" or any(path.name == "dialogs" for path in paths[1:]):
        complain("give the dialogs folder first, then the locales folder (kebas studio "
                 "dialogs locales): scenarios are read from, and saved to, the first one's "
                 "scenarios/")
        return EXIT_USAGE
    try:
        listener = listening_socket(args.host, args.port)
    except OSError as exc:
        complain(f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}; "
                 "pick another with --port")
        return EXIT_USAGE
    port = listener.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Kebas studio: open http://{shown_host}:{port}/ in your browser (Ctrl-C stops "
          f"it); watching {' and '.join(map(shown_path, paths))}", flush=True)
    server = uvicorn.Server(uvicorn.Config(studio_app(Workbench(paths)), log_level="warning",
                                           access_log=False, lifespan="on"))
    try:
        with stopped_cleanly():
            asyncio.run(server.serve(sockets=[listener]))
    except Stopped:
        pass
    finally:
        listener.close()
    return EXIT_OK


class Stopped(Exception):
    """SIGTERM or SIGHUP: the studio ends as after Ctrl-C, cleaning up what it made."""


@contextlib.contextmanager
def stopped_cleanly() -> Iterator[None]:
    """SIGHUP (the terminal closed) stops the studio as SIGTERM does, and neither kills it at
    once: uvicorn shuts down (a comparison under way stops) and then raises the signal again,
    which here becomes `Stopped`, so that asyncio waits for the comparison's thread, which
    removes its temporary copy of the content, instead of the process dying with it."""
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise Stopped()

    def hang_up(_signum: int, _frame: FrameType | None) -> None:
        signal.raise_signal(signal.SIGTERM)  # uvicorn's handler while it serves

    handlers = [(signal.SIGTERM, stop)]
    if hasattr(signal, "SIGHUP"):  # not on Windows
        handlers.append((signal.SIGHUP, hang_up))
    before = {signum: signal.signal(signum, handler) for signum, handler in handlers}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
