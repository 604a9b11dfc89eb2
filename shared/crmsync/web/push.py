"""POST /push/calendar: Google Calendar's push notifications (public, authenticated by the channel token)."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.services.push_notifications import HEADERS, BadNotification, Notification, Verdict, receive
from crmsync.web.responses import problem

log = logging.getLogger(__name__)


def calendar_notification(app: App, request: Request) -> Response:
    """Verify and act on one notification: 200 (acted on or ignored), 400 malformed, 403 not ours,
    503 when the run could not be queued (Google retries)."""
    try:
        headers = {name: value for name in HEADERS if (value := request.headers.get(name)) is not None}
        note = Notification.parse(headers)
    except BadNotification as err:
        return problem(400, "Not a Calendar notification", str(err))
    try:
        result = receive(app.store, app.queue, note, app.clock(), app.config.push_debounce_seconds)
    except Exception:
        log.warning("a push notification could not be handled; Google retries it", exc_info=True)
        resp = problem(503, "Try again", "the notification could not be handled now")
        resp.headers["Retry-After"] = "10"
        return resp
    if result.verdict is Verdict.REFUSED:
        return problem(403, "Forbidden", "not a notification of an open channel of this service")
    return Response(status=202 if result.verdict in (Verdict.QUEUED, Verdict.JOINED) else 204)
