"""The studio's web app: one page, a few JSON answers, and the watcher that reloads the content.

Guarded against other websites, not against other people on this computer: it answers only
requests addressed to a loopback name (so a web page cannot reach it through a DNS name it
controls); every POST must carry the token written into the page when it was served, in a
header no other website can set without the studio's consent (which it never gives); and no
other site may show the page in a frame. Any user logged in to this computer can open the page,
read the token and use the studio as you can (see docs/studio.md). It writes nothing but a new
scenario file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from watchfiles import awatch

from bot.content.loader import Bundle, shown_path
from bot.core.i18n import Locale
from bot.core.model import Dialog
from bot.studio import chat, scenario_file
from bot.studio.node_card import node_details
from bot.studio.workbench import BASELINES, Workbench
from bot.tools.pages import render_page

log = logging.getLogger("kebas.studio")

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_HEADER = "X-Kebas-Token"
WATCH_DEBOUNCE_MS = 150  # a save that writes a file in several steps is seen once
WATCH_STEP_MS = 30
MAX_BODY = 1_000_000  # bytes: a chat state or a scenario name is a few kilobytes


def render(template: str, **context: Any) -> str:
    return render_page(template, context, "bot.studio")


class Refused(Exception):
    """A request the studio does not serve: said in a JSON answer with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def studio_app(workbench: Workbench, token: str | None = None, watch: bool = True) -> Starlette:
    token = token or secrets.token_urlsafe(24)
    state: dict[str, asyncio.Event] = {}

    async def reloads(changed: asyncio.Event) -> None:
        """Reload in a worker thread whenever a save was seen, one reload at a time."""
        while True:
            await changed.wait()
            changed.clear()
            await asyncio.to_thread(workbench.reload)

    async def watching(changed: asyncio.Event, stop: asyncio.Event) -> None:
        folders = [path for path in workbench.paths if path.exists()]
        async for _changes in awatch(*folders, debounce=WATCH_DEBOUNCE_MS, step=WATCH_STEP_MS,
                                     stop_event=stop):
            workbench.saw_change()
            changed.set()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        changed, stop = asyncio.Event(), asyncio.Event()
        state["changed"] = changed
        changed.set()
        tasks = [asyncio.create_task(reloads(changed))]
        if watch:
            tasks.append(asyncio.create_task(watching(changed, stop)))
        try:
            yield
        finally:
            workbench.saw_change()  # a comparison under way stops, so the studio can end
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def guarded(request: Request) -> None:
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            raise Refused(403, "this request did not come from the studio's page; reload it")

    async def body(request: Request) -> dict[str, Any]:
        guarded(request)
        too_large = Refused(413, f"the request is larger than {MAX_BODY:,} bytes; the studio's "
                            "page never sends that much, so reload it")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise too_large
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise too_large
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            raise Refused(400, "the request could not be read as JSON; reload the "
                          "page") from None
        if not isinstance(data, dict):
            raise Refused(400, "the request is not a JSON object")
        return data

    def content() -> Bundle:
        bundle = workbench.bundle
        if bundle is None:
            raise Refused(409, "the content has errors; fix them (see Problems) and try again")
        return bundle

    def usable(data: dict[str, Any]) -> tuple[Bundle, Dialog, Locale]:
        bundle = content()
        try:
            dialog = bundle.dialog(data.get("dialog") or None)
        except KeyError:
            raise Refused(409, f"there is no dialog '{data.get('dialog')}' now; press "
                          "Restart") from None
        locale = bundle.locales.get(str(data.get("lang") or "id"))
        if locale is None:
            raise Refused(400, f"there is no locale '{data.get('lang')}'")
        return bundle, dialog, locale

    async def page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(render("studio.html.j2", token=token, header=TOKEN_HEADER,
                                   nonce=nonce, baselines=BASELINES, baseline=workbench.baseline,
                                   paths=[shown_path(path) for path in workbench.paths]),
                            headers={"Content-Security-Policy": page_policy(nonce)})

    async def revision(request: Request) -> Response:
        return JSONResponse({"revision": workbench.revision})

    async def panels(request: Request) -> Response:
        revision = workbench.revision
        shown = workbench.panels
        bundle = workbench.bundle
        dialogs = [loaded.dialog.id for loaded in bundle.dialogs] if bundle else []
        languages = sorted(bundle.locales) if bundle else []
        status, tone = shown.status
        return JSONResponse({"revision": revision, "errors": shown.errors,
                             "status": status, "tone": tone,
                             "failure": shown.failure, "dialogs": dialogs,
                             "languages": languages, "html": render("panels.html.j2",
                                                                    panels=shown)})

    async def node(request: Request) -> Response:
        bundle = content()
        try:
            dialog = bundle.dialog(request.query_params.get("dialog") or None)
            card = node_details(bundle, dialog, request.query_params.get("id", ""))
        except KeyError:
            raise Refused(404, "there is no such node now; the picture may be older than "
                          "the content") from None
        return HTMLResponse(render("node.html.j2", **card))

    async def talk(request: Request) -> Response:
        data = await body(request)
        bundle, dialog, locale = usable(data)
        followed_up = bundle.checkin_for(dialog) is not None
        try:
            if data.get("state") is None:
                reply = chat.start(dialog, locale, followed_up)
            else:
                press, text = data.get("press"), data.get("text")
                reply = chat.move(dialog, locale, data["state"],
                                  press=str(press) if press is not None else None,
                                  text=str(text) if text is not None else None,
                                  back=data.get("do") == "back",
                                  restart=data.get("do") == "restart",
                                  followed_up=followed_up)
        except chat.BadMove as exc:
            raise Refused(400, str(exc)) from None
        return JSONResponse(reply.as_json())

    async def save(request: Request) -> Response:
        data = await body(request)
        bundle, dialog, locale = usable(data)
        try:
            state, _resumed = chat.current_state(dialog, data.get("state"))
            written = scenario_file.save(bundle, workbench.paths[0] / "scenarios", dialog,
                                         locale, state, str(data.get("name") or ""))
        except (chat.BadMove, scenario_file.CannotSave) as exc:
            raise Refused(400, str(exc)) from None
        return JSONResponse({"file": str(written), "message": f"saved as {shown_path(written)}; "
                             "'kebas scenarios' now runs it too"})

    async def baseline(request: Request) -> Response:
        data = await body(request)
        try:
            workbench.set_baseline(str(data.get("baseline")))
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        workbench.saw_change()
        state["changed"].set()
        return JSONResponse({"baseline": workbench.baseline})

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    routes = [Route("/", page), Route("/api/revision", revision), Route("/api/panels", panels),
              Route("/api/node", node), Route("/api/chat", talk, methods=["POST"]),
              Route("/api/scenario", save, methods=["POST"]),
              Route("/api/baseline", baseline, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(LoopbackOnly)],
                     exception_handlers={Refused: refused})


def page_policy(nonce: str = "") -> str:
    """The Content-Security-Policy: everything from the studio itself (the page's one script
    by its `nonce`; inline styles, which the diff and the flow picture use), never in a frame."""
    scripts = f"'nonce-{nonce}'" if nonce else "'none'"
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


class LoopbackOnly:
    """Serves only requests addressed to a loopback name: a page on another site that
    points its own DNS name at 127.0.0.1 is refused (DNS rebinding). Every answer forbids
    framing (clickjacking) and, unless it has its own, loading anything from elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Frame-Options"] = "DENY"
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = page_policy()
            await send(message)

        if host_name(Headers(scope=scope).get("host", "")) not in LOOPBACK_NAMES:
            refusal = PlainTextResponse("Kebas studio answers only at 127.0.0.1, localhost "
                                        "or [::1]", status_code=400)
            await refusal(scope, receive, guarded_send)
            return
        started = False

        async def answering(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await guarded_send(message)

        try:
            await self.app(scope, receive, answering)
        except Exception as exc:  # noqa: BLE001 - said in one line, never a traceback
            said = f"the studio failed on this request ({type(exc).__name__}: {exc}); " \
                "reload the page, and if it stays, run kebas check in a terminal"
            log.error("%s %s: %s", scope.get("method"), scope.get("path"), said)
            if not started:
                await JSONResponse({"error": said}, status_code=500)(scope, receive,
                                                                     guarded_send)


def host_name(host: str) -> str:
    """The name in a Host header, without its port ("[::1]:8765" -> "[::1]"); "" when the
    header is not a name with at most a port after it ("[::1]evil.example")."""
    if host.startswith("["):
        end = host.find("]") + 1
        name, rest = host[:end], host[end:]
        port = rest[1:] if rest.startswith(":") else None
        if end == 0 or (rest and not (port and port.isdigit())):
            return ""
        return name
    name, _colon, port = host.partition(":")
    return name if not _colon or port.isdigit() else ""
