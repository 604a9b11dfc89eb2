"""Private entry points: `fanout` (Cloud Scheduler) and `worker` (Cloud Tasks), both behind OIDC.

Each is built on its first request from only the configuration it needs (crmsync.config.NEEDS),
verifies the caller, parses the body, calls one service and maps the outcome to a status:
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
class Fanout:
    """What the fan-out needs, built once per warm instance: the store, the queue and the caller check."""

    store: Any  # crmsync.store.contract.StateStore
    queue: Any  # crmsync.queue.port.TaskQueue
    clock: Any
    settings: Any  # crmsync.services.fanout.FanoutSettings
    verifier: Any  # crmsync.security.oidc.CallerVerifier

    def __call__(self, request: Any) -> Response:
        """One scheduler tick."""
        from crmsync.security.input import MAX_TASK_BODY_BYTES, BodyTooLarge, limit_request
        from crmsync.services.fanout import fan_out

        if denied := _denied(self.verifier, request.headers):
            return denied
        try:
            limit_request(request, MAX_TASK_BODY_BYTES)  # the scheduler sends "{}"; the body is never read
        except BodyTooLarge as err:
            return _json({"error": str(err)}, 413)
        result = fan_out(self.store, self.queue, self.clock, self.settings)
        return _json(result.as_dict(), 500 if result.failed_pages and not result.pages else 200)


@dataclass
class Worker:
    """What the worker needs, built once per warm instance (tests build it with fakes)."""

    deps: Any  # crmsync.services.worker.WorkerDeps
    verifier: Any

    def __call__(self, request: Any) -> Response:
        """One sync task."""
        from crmsync.security.input import MAX_TASK_BODY_BYTES, BodyTooLarge, limit_request, parse_json
        from crmsync.services.sync_task import SyncTask
        from crmsync.services.worker import handle_task

        if denied := _denied(self.verifier, request.headers):
            return denied
        try:
            limit_request(request, MAX_TASK_BODY_BYTES)
            task = SyncTask.parse(parse_json(request.get_data()))
        except BodyTooLarge as err:
            return _json({"error": f"not a sync task: {err}"}, 413)
        except ValueError as err:  # BadJson, InvalidTask
            return _json({"error": f"not a sync task: {err}"}, 400)
        result = handle_task(task, self.deps)
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


def build_fanout(env: Mapping[str, str] | None = None, **overrides: Any) -> Fanout:
    """The fan-out from CRMSYNC_* variables: no secret, no CRM, no vault (see crmsync.config.NEEDS)."""
    from crmsync.bootstrap import make_queue, make_store, register_secrets, utc_now
    from crmsync.config import Config, Function
    from crmsync.obs.logging import configure_logging
    from crmsync.services.fanout import FanoutSettings

    env = os.environ if env is None else env
    config = Config.from_env(env, Function.FANOUT)
    configure_logging(config.log_level, project=config.project)
    register_secrets(config)
    store = overrides["store"] if "store" in overrides else make_store(config)
    return Fanout(
        store=store,
        queue=overrides["queue"] if "queue" in overrides else make_queue(config, env),
        clock=overrides.get("clock") or utc_now,
        settings=FanoutSettings.from_env(env),
        verifier=_verifier(config, env, "CRMSYNC_FANOUT_AUDIENCE", "CRMSYNC_SCHEDULER_SERVICE_ACCOUNT"),
    )


def build_worker(env: Mapping[str, str] | None = None, **overrides: Any) -> Worker:
    """The worker from CRMSYNC_* variables (Cloud Tasks when CRMSYNC_TASKS_QUEUES is set)."""
    from crmsync.bootstrap import bootstrap, make_queue
    from crmsync.config import Config, Function
    from crmsync.obs.logging import configure_logging
    from crmsync.services.worker import WorkerSettings, worker_deps

    env = os.environ if env is None else env
    config = Config.from_env(env, Function.WORKER)
    configure_logging(config.log_level, project=config.project)
    if "queue" not in overrides:
        overrides["queue"] = make_queue(config, env)
    app = bootstrap(config, **overrides)
    return Worker(
        deps=worker_deps(app, WorkerSettings.from_env(env)),
        verifier=_verifier(config, env, "CRMSYNC_WORKER_AUDIENCE", "CRMSYNC_TASKS_SERVICE_ACCOUNT"),
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


_fanout: Fanout | None = None
_worker: Worker | None = None


@functions_framework.http
def fanout(request: Any) -> Response:
    """Private HTTP function: the Cloud Scheduler tick (POST, OIDC of the scheduler account)."""
    global _fanout
    if _fanout is None:
        _fanout = build_fanout()
    return _fanout(request)


@functions_framework.http
def worker(request: Any) -> Response:
    """Private HTTP function: one Cloud Tasks sync task (POST, OIDC of the tasks account)."""
    global _worker
    if _worker is None:
        _worker = build_worker()
    return _worker(request)
