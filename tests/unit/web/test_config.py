"""Config from the environment: defaults, validation, messages naming the variable."""

from __future__ import annotations

import pytest

from crmsync.config import GOOGLE_TOKEN_URI, Config, ConfigError

pytestmark = pytest.mark.unit

BASE = {
    "CRMSYNC_BASE_URL": "https://sync.example.com/",
    "CRMSYNC_OAUTH_CLIENT_ID": "cid",
    "CRMSYNC_OAUTH_CLIENT_SECRET": "csecret",
    "CRMSYNC_LINK_SIGNING_KEY": "k" * 40,
    "CRMSYNC_SESSION_KEY": "s" * 40,
    "CRMSYNC_ADMIN_API_KEY": "a" * 40,
    "CRMSYNC_CRM_BASE_URL": "https://crm.example.com/api",
    "CRMSYNC_CRM_API_KEY": "crm-key",
    "CRMSYNC_PROJECT": "proj",
    "CRMSYNC_DATA_KEY_SECRET": "crmsync-data-key",
}


def test_defaults_point_at_real_google() -> None:
    config = Config.from_env(BASE)
    assert config.base_url == "https://sync.example.com"
    assert config.google_token_uri == GOOGLE_TOKEN_URI
    assert config.redirect_uri == "https://sync.example.com/oauth/callback"
    assert not config.is_local
    assert config.vault == "envelope"  # issue 16: tokens sealed in Firestore, one data key in Secret Manager
    assert config.data_key_secret == "crmsync-data-key"
    assert config.store == "firestore"


def test_the_session_key_is_its_own_secret_never_derived_from_the_link_key() -> None:
    from crmsync.config import ConfigError

    without = {k: v for k, v in BASE.items() if k != "CRMSYNC_SESSION_KEY"}
    with pytest.raises(ConfigError, match="CRMSYNC_SESSION_KEY is not set"):
        Config.from_env(without)  # the web function needs it: it fails at start-up, not on the first sign-in
    config = Config.from_env({**BASE, "CRMSYNC_SESSION_KEY": "s" * 40})
    assert config.session_key == b"s" * 40
    assert "s" * 40 in config.secrets()
    with pytest.raises(ConfigError, match="must differ"):
        Config.from_env({**BASE, "CRMSYNC_SESSION_KEY": "k" * 40})
    with pytest.raises(ConfigError, match="CRMSYNC_SESSION_KEY"):
        Config.from_env({**BASE, "CRMSYNC_SESSION_KEY": "short"})


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"CRMSYNC_BASE_URL": ""}, "CRMSYNC_BASE_URL"),
        ({"CRMSYNC_BASE_URL": "http://sync.example.com"}, "CRMSYNC_BASE_URL"),
        ({"CRMSYNC_LINK_SIGNING_KEY": "short"}, "CRMSYNC_LINK_SIGNING_KEY"),
        ({"CRMSYNC_VAULT": "shoebox"}, "CRMSYNC_VAULT"),
        ({"CRMSYNC_VAULT": "local_file"}, "CRMSYNC_LOCAL_VAULT_PATH"),
        ({"CRMSYNC_PROJECT": ""}, "CRMSYNC_PROJECT"),
        ({"CRMSYNC_LOG_LEVEL": "LOUD"}, "CRMSYNC_LOG_LEVEL"),
        ({"CRMSYNC_GOOGLE_TOKEN_URI": "ftp://x"}, "CRMSYNC_GOOGLE_TOKEN_URI"),
        ({"CRMSYNC_OAUTH_CLIENT_SECRET": " "}, "CRMSYNC_OAUTH_CLIENT_SECRET"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable(change: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        Config.from_env({**BASE, **change})


def test_local_stack_settings() -> None:
    env = {
        **BASE,
        "CRMSYNC_BASE_URL": "http://127.0.0.1:8080",
        "CRMSYNC_STORE": "memory",
        "CRMSYNC_PROJECT": "",
        "CRMSYNC_VAULT": "local_file",
        "CRMSYNC_LOCAL_VAULT_PATH": "/tmp/v.json",
        "CRMSYNC_GOOGLE_API_BASE": "http://127.0.0.1:9000",
        "CRMSYNC_LOG_LEVEL": "debug",
    }
    config = Config.from_env(env)
    assert config.is_local
    assert config.log_level == "DEBUG"
    assert config.userinfo_uri == "http://127.0.0.1:9000/v1/userinfo"
    assert "csecret" in config.secrets()


def test_each_function_reads_only_what_it_needs() -> None:
    from crmsync.config import Function

    fanout = Config.from_env({"CRMSYNC_BASE_URL": "https://sync.example.com", "CRMSYNC_PROJECT": "p"}, Function.FANOUT)
    assert fanout.secrets() == []
    with pytest.raises(ConfigError, match="CRMSYNC_CRM_BASE_URL is not configured for the fanout function"):
        fanout.crm_access()
    worker = Config.from_env(BASE, Function.WORKER)  # a web key in the environment is not even read
    assert worker.admin_api_key is None and worker.session_signing_key is None
    assert worker.oauth_client().client_secret == "csecret"
    with pytest.raises(ConfigError, match="CRMSYNC_ADMIN_API_KEY"):
        worker.admin_key()
    # The link key is the worker's when given (a settings link in notifications to the CRM), not required.
    assert worker.link_key() == b"k" * 40
    bare = Config.from_env({k: v for k, v in BASE.items() if k != "CRMSYNC_LINK_SIGNING_KEY"}, Function.WORKER)
    assert bare.link_signing_key is None
    with pytest.raises(ConfigError, match="CRMSYNC_LINK_SIGNING_KEY is 5 bytes"):
        Config.from_env({**BASE, "CRMSYNC_LINK_SIGNING_KEY": "short"}, Function.WORKER)
    web = Config.from_env({**BASE, "CRMSYNC_CRM_WEBHOOK_SECRET": "w" * 40})
    assert web.crm_webhook_secret == b"w" * 40 and Config.from_env(BASE).crm_webhook_secret is None
    with pytest.raises(ConfigError, match="CRMSYNC_CRM_WEBHOOK_SECRET is 5 bytes"):
        Config.from_env({**BASE, "CRMSYNC_CRM_WEBHOOK_SECRET": "short"})
    without = {k: v for k, v in BASE.items() if k != "CRMSYNC_OAUTH_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="CRMSYNC_OAUTH_CLIENT_SECRET"):
        Config.from_env(without, Function.WORKER)


def test_envelope_vault_needs_the_data_key_secret_id() -> None:
    without = {k: v for k, v in BASE.items() if k != "CRMSYNC_DATA_KEY_SECRET"}
    with pytest.raises(ConfigError, match=r"CRMSYNC_DATA_KEY_SECRET.*the default.*CRMSYNC_VAULT=secret_manager"):
        Config.from_env(without)  # the default vault
    with pytest.raises(ConfigError, match="CRMSYNC_DATA_KEY_SECRET"):
        Config.from_env({**without, "CRMSYNC_VAULT": "envelope"})
    assert Config.from_env({**without, "CRMSYNC_VAULT": "secret_manager"}).vault == "secret_manager"  # still a choice
    config = Config.from_env({**BASE, "CRMSYNC_VAULT": "envelope", "CRMSYNC_DATA_KEY_SECRET": "acme-data-key"})
    assert config.data_key_secret == "acme-data-key"
    assert "csecret" not in repr(config)  # secrets stay out of tracebacks and logs
