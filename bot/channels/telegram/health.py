"""`/healthz` and `/metrics`, what an operator's monitoring asks a running bot.

A webhook worker serves them beside its Telegram route (`webhook_app`). Long polling has no
web server of its own, so with KEBAS_HEALTH_LISTEN set it runs a small one (`HealthServer`)
in the bot's event loop: started with the bot (post_init), stopped with it (post_shutdown).
Without it, long polling opens no port at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.telegram.handler import KebasTelegram
from bot.settings import SettingsProblem

log = logging.getLogger("kebas.health")

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_CONNECTIONS = 16  # a monitoring system or two, and an operator's curl
STOP_SECONDS = 2  # a scrape in flight at SIGTERM gets this long to finish


def health_routes(kebas: KebasTelegram) -> list[Route]:
    """GET /healthz: 200 with the dialog served, or 503 with why not. GET /metrics: the
    Prometheus text format."""

    async def health(_request: Request) -> Response:
        problem = await kebas.health_problem()
        body: dict[str, Any] = {"status": "ok" if problem is None else "unavailable",
                                "dialog": f"{kebas.dialog.id} v{kebas.dialog.version}"}
        if problem is not None:
            body["problem"] = problem
        return JSONResponse(body, status_code=200 if problem is None else 503)

    async def metrics(_request: Request) -> Response:
        return Response(await kebas.metrics.scraped(kebas.store),
                        media_type=CONTENT_TYPE_LATEST)

    return [Route(HEALTH_PATH, health, methods=["GET"]),
            Route(METRICS_PATH, metrics, methods=["GET"])]


class InLoopServer(uvicorn.Server):
    """uvicorn's server, leaving the stop signals to the bot: PTB stops the whole bot on
    SIGTERM, and the bot stops this server (uvicorn would take the signals for itself)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (a name, an IPv4 or an IPv6 address)."""
    family, *_rest = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                        flags=socket.AI_PASSIVE)[0]
    return socket.create_server((host, port), family=family)


class HealthServer:
    """/healthz and /metrics on HOST:PORT, for long polling."""

    def __init__(self, kebas: KebasTelegram, address: tuple[str, int]) -> None:
        self.kebas, self.address = kebas, address
        self.server: InLoopServer | None = None
        self.serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, or refuse at once (SettingsProblem) when the address cannot be had."""
        host, port = self.address
        try:
            listening = listening_socket(host, port)
        except OSError as exc:
            why = exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__
            raise SettingsProblem(
                f"KEBAS_HEALTH_LISTEN: cannot listen on {host}:{port} ({why}); choose a free "
                f"port, or stop what holds it") from None
        self.server = InLoopServer(uvicorn.Config(
            Starlette(routes=health_routes(self.kebas)), lifespan="off", log_config=None,
            access_log=False, ws="none", proxy_headers=False,
            limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=STOP_SECONDS))
        self.serving = asyncio.create_task(self.server.serve(sockets=[listening]))
        log.info("health and metrics on http://%s:%d%s and %s", host, port, HEALTH_PATH,
                 METRICS_PATH)

    async def stop(self) -> None:
        if self.server is None or self.serving is None:
            return
        self.server.should_exit = True
        await self.serving
        self.server = self.serving = None
