"""Fixtures shared by every test layer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # local http only; never set in production


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:  # noqa: F821
    """One in-process Google emulator (real HTTP on loopback) per test session."""
    from infra.google_emulator import server as srv
    from tests.support.discovery_schema import validate

    server = srv.EmulatorServer().start()

    def check(method_id: str, status: int, body: bytes) -> None:
        # Every JSON success response is validated against the discovery schema.
        if status < 300 and method_id.split(".")[0] in ("people", "calendar", "tasks"):
            try:
                validate(method_id, json.loads(body) if body else None)
            except AssertionError as err:
                server.state.extras.setdefault("schema_failures", []).append(f"{method_id}: {err}")

    srv.RESPONSE_OBSERVERS.append(check)
    yield server
    srv.RESPONSE_OBSERVERS.remove(check)
    server.stop()


@pytest.fixture
def emulator(emulator_server):  # type: ignore[no-untyped-def]
    """The emulator, reset before the test; fails the test on any schema drift."""
    emulator_server.state.reset()
    emulator_server.state.extras["base_url"] = emulator_server.base_url
    failures: list[str] = []
    emulator_server.state.extras["schema_failures"] = failures
    yield emulator_server
    assert not failures, "responses outside the discovery schema:\n" + "\n".join(failures)


def _hypothesis_profiles() -> None:
    """Profiles: ``ci`` (the default: 200 derandomised examples per property, so a red run
    always means the code changed, never that the dice did), ``explore`` (random, 500 examples:
    run it to hunt new bugs, e.g. ``HYPOTHESIS_PROFILE=explore pytest tests/unit -k machine``)
    and ``dev`` (quick)."""
    from hypothesis import HealthCheck, settings

    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    settings.register_profile("dev", max_examples=25, **common)
    settings.register_profile("ci", max_examples=200, derandomize=True, database=None, **common)
    settings.register_profile("explore", max_examples=500, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()
