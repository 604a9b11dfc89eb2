"""Use cases behind the HTTP functions: connect, OAuth callback, settings, status, sync now, disconnect, admin."""
