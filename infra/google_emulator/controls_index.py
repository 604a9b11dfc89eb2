"""``GET /__emulator/``: a page listing the control API (every ``/__emulator/...`` route with what it
does), the accounts and the current settings, so a person who opens the link `make run` prints
finds their way."""

from __future__ import annotations

import html
import json

from .core import CONTROL, ROUTER, Ctx, route
from .server import Response

P = "/__emulator"


def _rows(ctx: Ctx) -> str:
    rows = []
    for r in ROUTER.routes:
        path = r.pattern.pattern.strip("^$").replace("\\", "")
        if r.api != CONTROL or not path.startswith(P + "/") or path == P + "/":
            continue
        doc = (r.handler.__doc__ or "").strip().splitlines()
        link = f'<a href="{html.escape(path)}">{html.escape(path)}</a>' if r.http_method == "GET" else html.escape(path)
        rows.append(
            f"<tr><td>{r.http_method}</td><td><code>{link}</code></td><td>{html.escape(doc[0] if doc else '')}</td></tr>"
        )
    return "\n".join(rows)


@route("GET", P + "/", api=CONTROL, method_id="emulator.index")
def index(ctx: Ctx) -> Response:
    """This page: the control API, the accounts and the settings."""
    from .controls import current_settings

    accounts = "".join(
        f"<li>{html.escape(a.email)} ({html.escape(a.name or '')})</li>" for a in ctx.state.accounts.values()
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Google Workspace emulator — controls</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td{{border-top:1px solid #ddd;padding:.3rem;vertical-align:top}}
code{{word-break:break-all}}</style></head>
<body><h1>Google Workspace emulator</h1>
<p>People, Calendar, Tasks and OAuth 2.0 on this address, plus this private control API (JSON in and out,
no authentication: for tests and local runs only). Example:
<code>curl -X POST {P}/settings -d '{{"auto_approve": true}}'</code></p>
<h2>Accounts</h2><ul id="accounts">{accounts or "<li>none yet (an account is made on first sign-in)</li>"}</ul>
<h2>Settings</h2><pre id="settings">{html.escape(json.dumps(current_settings(ctx.state), indent=2, default=str))}</pre>
<h2>Control API</h2><table id="controls"><tr><th>method</th><th>path</th><th>what it does</th></tr>
{_rows(ctx)}</table></body></html>"""
    return Response(200, body.encode(), {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


@route("GET", P, api=CONTROL, method_id="emulator.index.redirect")
def index_redirect(ctx: Ctx) -> Response:
    """``/__emulator`` without the slash: to the page."""
    return Response(302, b"", {"Location": P + "/"})
