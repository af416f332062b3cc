"""Prefect flows: the batch (`check.py`), the watch-folder service (`watch/`), serving the flow (`serve.py`).

Prefect reads its settings from the environment when it is first imported, so whoever starts Prefect calls
`flows.server.quiet_prefect()` (or `start_server()`, which calls it) before importing it: the CLI's batch,
watch and serve commands, and the tests' conftest. Importing this package sets nothing.
"""


class Refused(Exception):
    """A flow or service would not start (no inbox, its output in use, a bad ruleset, no server to serve
    from); the message is for people. The CLI exits 2 with it."""
