"""Private entry points: `fanout` (Cloud Scheduler) and `worker` (Cloud Tasks), both behind OIDC.

Each verifies the caller, parses the body, calls one service and maps the outcome to a status:
the worker answers 503/500 for transient/unexpected failures so Cloud Tasks retries, 2xx otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import functions_framework

Response = tuple[str, int, dict[str, str]]


@dataclass
class Private:
    """What both private functions need, built once per warm instance (tests build it with fakes)."""

    app: Any  # crmsync.bootstrap.App
    worker_deps: Any  # crmsync.services.worker.WorkerDeps
    fanout_settings: Any  # crmsync.services.fanout.FanoutSettings
    fanout_verifier: Any  # crmsync.security.oidc.CallerVerifier
    worker_verifier: Any

    def fanout(self, request: Any) -> Response:
        """One scheduler tick."""
        from crmsync.services.fanout import fan_out

        if denied := _denied(self.fanout_verifier, request.headers):
            return denied
        result = fan_out(self.app.store, self.app.queue, self.app.clock, self.fanout_settings)
        return _json(result.as_dict(), 500 if result.failed_pages and not result.pages else 200)

    def worker(self, request: Any) -> Response:
        """One sync task."""
        from crmsync.services.worker import InvalidTask, SyncTask, handle_task

        if denied := _denied(self.worker_verifier, request.headers):
            return denied
        try:
            task = SyncTask.parse(json.loads(request.get_data(as_text=True) or "null"))
        except (ValueError, InvalidTask) as err:
            return _json({"error": f"not a sync task: {err}"}, 400)
        result = handle_task(task, self.worker_deps)
        body = {"outcome": result.outcome.value, "detail": result.detail, "run_id": result.run_id}
        return _json({**body, "follow_up": result.follow_up}, result.status_code)


def _denied(verifier: Any, headers: Mapping[str, str]) -> Response | None:
    from crmsync.security.errors import SecurityError

    try:
        verifier.verify(headers)
    except SecurityError as err:
        return _json({"error": str(err)}, int(getattr(err, "status", 401)))
    return None


def _json(body: dict[str, Any], status: int) -> Response:
    return json.dumps(body, default=str), status, {"Content-Type": "application/json"}


def build(env: Mapping[str, str] | None = None, **overrides: Any) -> Private:
    """The Private app from CRMSYNC_* variables (Cloud Tasks when CRMSYNC_TASKS_QUEUES is set)."""
    from crmsync.bootstrap import bootstrap
    from crmsync.config import Config
    from crmsync.obs.logging import configure_logging
    from crmsync.services.fanout import FanoutSettings
    from crmsync.services.worker import WorkerSettings, worker_deps

    env = os.environ if env is None else env
    config = Config.from_env(env)
    configure_logging(config.log_level, project=config.project)
    if "queue" not in overrides and env.get("CRMSYNC_TASKS_QUEUES"):
        from crmsync.queue.cloud_tasks import cloud_tasks_queue_from_env

        overrides["queue"] = cloud_tasks_queue_from_env(env)
    app = bootstrap(config, **overrides)
    return Private(
        app=app,
        worker_deps=worker_deps(app, WorkerSettings.from_env(env)),
        fanout_settings=FanoutSettings.from_env(env),
        fanout_verifier=_verifier(config, env, "CRMSYNC_FANOUT_AUDIENCE", "CRMSYNC_SCHEDULER_SERVICE_ACCOUNT"),
        worker_verifier=_verifier(config, env, "CRMSYNC_WORKER_AUDIENCE", "CRMSYNC_TASKS_SERVICE_ACCOUNT"),
    )


def _verifier(config: Any, env: Mapping[str, str], audience: str, account: str) -> Any:
    """Locally a shared secret (CRMSYNC_INTERNAL_SECRET); in production Google OIDC for one service account."""
    from crmsync.config import ConfigError
    from crmsync.security.oidc import GoogleOidcVerifier, SharedSecretVerifier

    if config.is_local and config.internal_secret:
        return SharedSecretVerifier(config.internal_secret)
    if not env.get(audience) or not env.get(account):
        raise ConfigError(f"{audience} and {account} must be set to verify callers (or run locally with a secret)")
    from google.auth.transport.requests import Request

    return GoogleOidcVerifier(env[audience], frozenset({env[account]}), Request())


_private: Private | None = None


def _instance() -> Private:
    global _private
    if _private is None:
        _private = build()
    return _private


@functions_framework.http
def fanout(request: Any) -> Response:
    """Private HTTP function: the Cloud Scheduler tick (POST, OIDC of the scheduler account)."""
    return _instance().fanout(request)


@functions_framework.http
def worker(request: Any) -> Response:
    """Private HTTP function: one Cloud Tasks sync task (POST, OIDC of the tasks account)."""
    return _instance().worker(request)
