"""HTTP for the dashboard: which path is which page, who may see it, and the headers every answer carries.

`Dashboard(path, headers)` answers a GET the webhook server hands it, or returns None for a path
that is not the dashboard's (`/healthz`, `/metrics` and the webhook stay the server's). Every
answer, refusals included, carries a Content-Security-Policy that allows only the dashboard's own
script and stylesheet (no inline script, no inline style, nothing from elsewhere), so even markup
that slipped past escaping could not run. Pages poll their own URL with `?fragment=1` every
`poll` seconds and swap in the live block: no held-open connection per viewer (the endpoint caps
connections), and it works through any proxy. Read errors are pages that say what failed.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Callable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from ..model.errors import MeshopsError, UsageError
from ..model.identity import ENVIRONMENT_LABEL
from ..pipeline.plan import plan_rendered
from ..pipeline.rollouts import rollout_store
from ..rollout.router import ROUTERS
from .auth import CHALLENGE, TokenGate
from .environments import EnvironmentsReader, problem_text
from .pages import render, static_file
from .plans import plan_view
from .rollouts import rollout_view
from .sources import Sources

log = logging.getLogger("meshops.dashboard")

# Seconds between a page's refreshes of its live block.
POLL_SECONDS = 2.0
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
))
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Page:
    """One answer: what the webhook server sends back."""

    status: int
    body: bytes
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = SECURITY_HEADERS


class NotFound(Exception):
    """The path names an environment, cluster or rollout that does not exist."""


@dataclass(frozen=True)
class Request:
    path: str
    fragment: bool
    parts: tuple[str, ...]  # the route's captured segments, unquoted


class Dashboard:
    """The dashboard's pages over `sources` (see module docstring)."""

    def __init__(self, sources: Sources, *, token: bytes | None = None, poll: float = POLL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.sources = sources
        self.gate = TokenGate(token)
        self.poll = poll
        self.clock = clock
        self.environments = EnvironmentsReader(sources, clock=clock)
        # path pattern -> handler; segments are one path component each (names are percent-encoded).
        self.routes: tuple[tuple[re.Pattern[str], Callable[[Request], Page]], ...] = (
            (re.compile(r"/"), self._overview),
            (re.compile(r"/static/([^/]+)"), self._static),
            (re.compile(r"/environments/([^/]+)/([^/]+)/plan"), self._plan),
            (re.compile(r"/environments/([^/]+)/([^/]+)/plan\.md"), self._markdown),
            (re.compile(r"/rollouts/([^/]+)/([^/]+)/([^/]+)/([^/]+)"), self._rollout),
        )

    def __call__(self, target: str, headers: Mapping[str, str]) -> Page | None:
        split = urlsplit(target)
        for pattern, handler in self.routes:
            match = pattern.fullmatch(split.path)
            if match:
                break
        else:
            return None
        if not self.gate.allows(headers):
            return self._page(HTTPStatus.UNAUTHORIZED, "error.html.j2", title="token required",
                              message="This dashboard needs its token: as the password when the browser asks, "
                                      "or as an Authorization: Bearer header.",
                              extra=(("WWW-Authenticate", CHALLENGE),))
        request = Request(split.path, parse_qs(split.query).get("fragment") == ["1"],
                          tuple(unquote(part) for part in match.groups()))
        try:
            return handler(request)
        except NotFound as missing:
            return self._page(HTTPStatus.NOT_FOUND, "error.html.j2", title="not found", message=str(missing))
        except MeshopsError as error:
            return self._page(HTTPStatus.BAD_GATEWAY, "error.html.j2", title="could not read", message=problem_text(error))
        except Exception:  # noqa: BLE001 - a bug must still answer, and leave its traceback in the log
            log.exception("dashboard: internal error on %s", split.path)
            return self._page(HTTPStatus.INTERNAL_SERVER_ERROR, "error.html.j2", title="internal error",
                              message="internal error (see the meshops log)")

    # --- answers ---------------------------------------------------------------------------------

    def _page(self, status: int, template: str, *, fragment: bool = False, refresh: float = 0.0,
              extra: tuple[tuple[str, str], ...] = (), **context) -> Page:
        body = render(template, fragment=fragment, refresh=refresh, now=self.clock(), **context)
        return Page(int(status), body.encode(), HTML, SECURITY_HEADERS + extra)

    def _static(self, request: Request) -> Page:
        found = static_file(request.parts[0])
        if found is None:
            raise NotFound(f"no static file {request.parts[0]!r}")
        body, content_type = found
        return Page(HTTPStatus.OK, body, content_type)

    def _overview(self, request: Request) -> Page:
        overview = self.environments.overview()
        return self._page(HTTPStatus.OK, "environments.html.j2", fragment=request.fragment, refresh=self.poll,
                          title="environments", overview=overview)

    def _target(self, environment: str, cluster: str):
        config = self.sources.config(environment)
        if config is None:
            raise NotFound(f"no environment {environment!r} at the branch head")
        target = next((t for t in self.sources.targets(config) if t.cluster == cluster), None)
        if target is None:
            raise NotFound(f"environment {environment!r} has no cluster {cluster!r}")
        return config, target

    def _planned(self, request: Request):
        environment, cluster = request.parts[:2]
        config, target = self._target(environment, cluster)
        head = self.sources.head()
        return plan_rendered(self.sources.rendered(config.name, head.revision, target.cluster), self.sources.connection(target)).plan

    def _plan(self, request: Request) -> Page:
        view = plan_view(self._planned(request), cluster=request.parts[1])
        return self._page(HTTPStatus.OK, "plan.html.j2", fragment=request.fragment, title=f"plan of {view.environment}",
                          plan=view, head=self.sources.head())

    def _markdown(self, request: Request) -> Page:
        view = plan_view(self._planned(request), cluster=request.parts[1])
        return Page(HTTPStatus.OK, view.markdown.encode(), "text/markdown; charset=utf-8")

    def _rollout(self, request: Request) -> Page:
        environment, cluster, namespace, name = request.parts
        config, target = self._target(environment, cluster)
        connection = self.sources.connection(target)
        if all(connection.discovery.preferred(group, kind) is None for group, kind in ROUTERS):
            raise NotFound(f"the cluster of {environment} serves neither VirtualServices nor HTTPRoutes, so it has no rollouts")
        try:
            live = rollout_store(connection, owner=None).find(namespace, name)
        except UsageError as missing:  # no route object of that name
            raise NotFound(missing.message) from None
        labels = (live.obj.get("metadata") or {}).get("labels") or {}
        if live.state is None or labels.get(ENVIRONMENT_LABEL) != environment:
            raise NotFound(f"no rollout of {namespace}/{name} in environment {environment}")
        try:
            metrics, problem = self.sources.metrics(config, target), ""
        except MeshopsError as error:
            metrics, problem = None, problem_text(error)
        view = rollout_view(live, environment=environment, cluster=cluster, config=config, metrics=metrics,
                            metrics_problem=problem, now=self.clock())
        return self._page(HTTPStatus.OK, "rollout.html.j2", fragment=request.fragment, refresh=self.poll,
                          title=f"rollout of {name}", rollout=view)
