"""The field kit: what a crew laptop runs to send a card's footage to the base over a poor link.

It is a client of the base and talks to it only over HTTP (the manifest and wanted endpoints,
tus uploads at /files/, and /api/me/notes). Its state lives in one folder on the laptop
(settings.field_dir): a SQLite database of what was imported and what was sent, the proxies it
made, and the login. Everything it does survives a restart: sync picks up where it stopped.
"""
