"""`musicrec serve`: the TUI in a web browser (textual-serve, one app process per tab) and a JSON API over the
application layer, on one aiohttp server. server.py assembles it; security.py guards it; api.py answers /api;
apps.py starts, tracks and stops the app processes; child.py is what each of them runs."""
