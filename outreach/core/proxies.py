"""Real client addresses behind reverse proxies: `OUTREACH_PROXY_COUNT` hops of
`X-Forwarded-For` / `X-Forwarded-Proto` are trusted (werkzeug's ProxyFix); with 0 (the
default) forwarded headers are ignored, so a client cannot choose its own address. The
sign-in throttle, the rate limits and the audit log read the address this gives."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """WSGI middleware applying ProxyFix with the app's configured hop count (read per
    request, so a change of config needs no new app)."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], config: Any):
        self.wsgi_app = wsgi_app
        self.config = config
        self._fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        count = int(self.config.get("PROXY_COUNT") or 0)
        if count <= 0:
            return self.wsgi_app(environ, start_response)
        fix = self._fixes.get(count)
        if fix is None:
            fix = self._fixes[count] = ProxyFix(self.wsgi_app, x_for=count, x_proto=count)
        return fix(environ, start_response)
