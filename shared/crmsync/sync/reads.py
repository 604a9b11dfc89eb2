"""What a run reads besides the two listings: the links of the records listed, the parked sides
whose partner changed, and the CRM records our unlinked Google creates say they belong to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..model.kinds import Kind, Side
from ..model.link import Link
from ..ports import Change, LinkStore, RecordSide

Sides = Mapping[Side, RecordSide]


def links_for(
    store: LinkStore, kind: Kind, crm: dict[str, Change], google: dict[str, Change], *, all_links: bool
) -> list[Link]:
    """The links of the records listed: all of them after a full listing, none for a quiet run."""
    if all_links:
        return list(store.all_links(kind))
    if not crm and not google:
        return []  # a quiet run reads no links at all
    # Google records we created carry their CRM id: fetch those links by document id
    # (batched gets), and query by Google id only for the rest.
    hinted = {g.crm_id_hint for g in google.values() if g.crm_id_hint}
    found = dict(store.links_by_crm(kind, sorted(set(crm) | hinted)))
    known_google = {lk.google_id for lk in found.values()}
    rest = [gid for gid in google if gid not in known_google]
    if rest:
        for link in store.links_by_google(kind, rest).values():
            found.setdefault(link.crm_id, link)
    return list(found.values())


def reread_parked(
    sides: Sides,
    crm: dict[str, Change],
    google: dict[str, Change],
    links: list[Link],
    *,
    crm_full: bool,
    google_full: bool,
) -> None:
    """A side left unsynced on purpose (a parked pair) is re-read when its partner changes (or may
    have: missing from a full listing, it was deleted), so what it holds is merged instead of
    being taken for the agreed base."""
    # Not a CRM side parked out of scope (both sides stale): a get does not say it is out of
    # scope; missing from the CRM listing, it has not changed and is still out.
    want_crm = [
        lk.crm_id
        for lk in links
        if lk.side(Side.CRM).parked
        and not lk.side(Side.GOOGLE).parked
        and (google_full or lk.google_id in google)
        and lk.crm_id not in crm
    ]
    want_google = [
        lk.google_id
        for lk in links
        if lk.side(Side.GOOGLE).parked and (crm_full or lk.crm_id in crm) and lk.google_id not in google
    ]
    if want_crm:
        found = sides[Side.CRM].get(want_crm)
        crm.update({i: found.get(i, Change(i, None)) for i in want_crm})
    if want_google:
        found = sides[Side.GOOGLE].get(want_google)
        google.update({i: found.get(i, Change(i, None)) for i in want_google})


def fetch_hinted(
    crm_side: RecordSide, crm: dict[str, Change], google: dict[str, Change], links: Iterable[Link]
) -> frozenset[str]:
    """Fetch CRM records that unlinked Google records in scope say they belong to (our
    creates whose link was lost), so they are linked rather than duplicated. A Google record
    out of scope is never paired: a fetched record would only pass for a new CRM record."""
    linked_google = {lk.google_id for lk in links}
    linked_crm = {lk.crm_id for lk in links}
    wanted = sorted(
        {
            g.crm_id_hint
            for g in google.values()
            if g.crm_id_hint
            and g.canon is not None
            and g.in_scope
            and g.id not in linked_google
            and g.crm_id_hint not in crm
            and g.crm_id_hint not in linked_crm
        }
    )
    if not wanted:
        return frozenset()
    found = crm_side.get(wanted)
    # Not in this run's listing, so unchanged since its link was dropped on purpose (both sides
    # left the scope, or one left it and the delete rule kept the other): still out of scope,
    # which a get does not say. Taken for in scope, it was paired and written to.
    crm.update({i: replace(ch, in_scope=False) for i, ch in found.items()})
    return frozenset(w for w in wanted if w not in found)
