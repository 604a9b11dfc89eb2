"""The OAuth callback's checks that need no Google: state single use, expiry, session binding, denial."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from crmsync.services import connect, oauth_callback
from crmsync.services.oauth_callback import AccessDenied, CallbackParams, StateInvalid
from crmsync.services.scopes import connection_id_for
from tests.unit.services.appfakes import make_app

pytestmark = pytest.mark.unit


def _state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_denial_consumes_the_state_and_connects_nothing() -> None:
    app, _, _ = make_app()
    state = _state(connect.begin_authorization(app, "u1", "bind").authorization_url)
    with pytest.raises(AccessDenied, match="nothing was connected"):
        oauth_callback.complete_oauth(app, CallbackParams(state, None, "access_denied"), "bind")
    with pytest.raises(StateInvalid, match="expired or was already used"):
        oauth_callback.complete_oauth(app, CallbackParams(state, None, "access_denied"), "bind")
    assert app.store.get_connection(connection_id_for("u1")) is None


def test_state_bound_to_another_session_is_refused() -> None:
    app, _, _ = make_app()
    state = _state(connect.begin_authorization(app, "u1", "bind").authorization_url)
    with pytest.raises(StateInvalid, match="another browser"):
        oauth_callback.complete_oauth(app, CallbackParams(state, "4/code", None), "other")
    with pytest.raises(StateInvalid, match="another browser"):
        oauth_callback.complete_oauth(
            app,
            CallbackParams(_state(connect.begin_authorization(app, "u1", "bind").authorization_url), "4/code", None),
            None,
        )


def test_expired_or_missing_state_is_refused() -> None:
    app, _, clock = make_app()
    state = _state(connect.begin_authorization(app, "u1", "bind").authorization_url)
    clock.advance(minutes=11)
    with pytest.raises(StateInvalid):
        oauth_callback.complete_oauth(app, CallbackParams(state, "4/code", None), "bind")
    with pytest.raises(StateInvalid, match="no valid state"):
        oauth_callback.complete_oauth(app, CallbackParams(None, "4/code", None), "bind")
