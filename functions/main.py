"""Cloud Functions entry points: parse the request, call one service, map errors (see crmsync.web).

Keep module-level imports light: every cold start pays for them. Heavy modules are imported on
the first request, and the composition root (crmsync.bootstrap) runs once per warm instance.
"""

from __future__ import annotations

from typing import Any

import functions_framework

_web_app: Any = None


def _web() -> Any:
    """The web app, built on first use and kept for the life of the warm instance."""
    global _web_app
    if _web_app is None:
        from crmsync.bootstrap import bootstrap
        from crmsync.config import Config
        from crmsync.obs.logging import configure_logging
        from crmsync.web.app import WebApp

        config = Config.from_env()
        configure_logging(config.log_level, project=config.project)
        _web_app = WebApp(bootstrap(config))
    return _web_app


@functions_framework.http
def web(request: Any) -> Any:
    """Public HTTP function: connect link, OAuth callback, settings page, settings/status/admin JSON API."""
    return _web().handle(request)


# --------------------------------------------------------------------------------------------------
# Private functions: `fanout` (Cloud Scheduler, OIDC) and `worker` (Cloud Tasks, OIDC) live in
# private.py beside this file (functions-framework puts this directory on sys.path; so does the
# Cloud Functions runtime); one deploy zip serves all three entry points.
# --------------------------------------------------------------------------------------------------
from private import fanout, worker  # noqa: E402

__all__ = ["fanout", "web", "worker"]
