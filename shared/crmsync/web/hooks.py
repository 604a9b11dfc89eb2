"""``POST /crm/changes``: the CRM's signed change notifications (docs/crm-sync-api.md "Change
notifications"). Checks in order, each a clear 4xx: the body size (413), the content type (415), the
timestamp and the HMAC signature (401, before the body is parsed), the body (422), a replay (409);
then a debounced sync of the kinds named (202)."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.security.input import limit_request
from crmsync.security.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRefused, verify
from crmsync.services import crm_changes
from crmsync.services.errors import InvalidInput
from crmsync.web.responses import as_json, problem

log = logging.getLogger(__name__)
PROBLEM = "urn:crm-sync:problem:"


def crm_changes_hook(app: App, request: Request) -> Response:
    """Verify and accept one change notification."""
    secret = app.config.crm_webhook_secret
    if secret is None:
        detail = "CRM change notifications are not enabled on this deployment (set CRMSYNC_CRM_WEBHOOK_SECRET)"
        return problem(404, "Not found", detail)
    limit_request(request, crm_changes.MAX_BODY_BYTES)  # BodyTooLarge: 413 from the app's handler
    if request.mimetype != "application/json":
        media = request.mimetype or "none"
        return problem(415, "Unsupported media type", f"send the body as application/json, not {media[:60]!r}")
    body = request.get_data()
    now = app.clock()
    try:
        verify(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body, now)
    except WebhookRefused as err:
        log.warning("CRM change notification refused: %s", err.problem)
        resp = problem(401, "Notification not authentic", str(err), type=PROBLEM + err.problem)
        resp.headers["WWW-Authenticate"] = 'HMAC realm="crmsync-crm-changes"'
        return resp
    try:
        accepted = crm_changes.receive(app, body, now)
    except crm_changes.Replayed as err:
        return problem(409, err.title, err.message, type=PROBLEM + "webhook-replayed")
    except InvalidInput as err:
        errors = [{"field": p.field, "message": p.message} for p in err.problems]
        return problem(422, "Invalid notification", err.message, errors=errors)
    return as_json(accepted.as_json(), status=202)
