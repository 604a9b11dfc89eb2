"""Who may use crmsync now: the admin's connect policy for a CRM user, and the user's session generation.

Checked before any session is issued and again on every request, so a rule the admin tightens, or a
disconnect, takes effect at once rather than when a cookie expires.
"""

from __future__ import annotations

from crmsync.crm.models import User
from crmsync.crm.port import CrmError, CrmNotFound, CrmTransient
from crmsync.services.admin_config import AdminConfig, load_admin_config
from crmsync.services.deps import StoreCrm
from crmsync.services.errors import NotAllowed, Unavailable
from crmsync.services.run_words import N_
from crmsync.services.scopes import connection_id_for
from crmsync.store.contract import ConnectionNotFound


def allowed_user(app: StoreCrm, crm_user_id: str, rules: AdminConfig | None = None) -> User:
    """The CRM user if the admin's connect policy allows them now; else NotAllowed (or Unavailable)."""
    rules = rules if rules is not None else load_admin_config(app.store)
    try:
        user = app.crm.user(crm_user_id)
    except CrmNotFound:
        raise NotAllowed(N_("The CRM does not know this user any more. Ask your CRM administrator.")) from None
    except CrmTransient as err:
        raise Unavailable(N_("The CRM did not answer. Try again in a minute.")) from err
    except CrmError as err:
        raise Unavailable(f"The CRM refused the user lookup ({err.status or 'error'}). Try again later.") from err
    if not rules.connect.allows(user):
        raise NotAllowed(N_("Your CRM administrator has not enabled Google sync for your account."))
    return user


def session_generation(app: StoreCrm, crm_user_id: str) -> int:
    """The user's current session generation (0 before any connection exists)."""
    connection = app.store.get_connection(connection_id_for(crm_user_id))
    return connection.session_generation if connection is not None else 0


def end_sessions(app: StoreCrm, crm_user_id: str) -> int:
    """End every session of the user (raise the generation); returns the new generation."""
    cid = connection_id_for(crm_user_id)
    connection = app.store.get_connection(cid)
    if connection is None:
        return 0
    generation = connection.session_generation + 1
    try:
        app.store.update_connection(cid, {"session_generation": generation})
    except ConnectionNotFound:
        return 0
    return generation
