"""A local emulator of Google's People, Calendar, Tasks and OAuth 2.0 endpoints."""

_registered = False


def register_all() -> None:
    """Import every API module so its routes register on the shared router (once)."""
    global _registered
    if _registered:
        return
    _registered = True
    import importlib

    for name in (
        "oauth",
        "controls",
        "controls_index",
        "realism",
        "people",
        "people_groups",
        "calendar",
        "calendar_watch",
        "tasks",
        "batch",
        "traffic",
    ):
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
