"""sync: store-and-forward between terminals and a hub (protocol: docs/sync-protocol.md).

    protocol.py   the protocol's pure rules: signing, batch checks, error codes
                  (written in protocol_auth.py, protocol_batch.py, protocol_errors.py)
    client.py     the terminal's side: enroll, push, pull, media (requests)
    hub/          the hub: storage, service, FastAPI app, admin, server

Imports nothing of kiosk or voice; of core only the store, the audit hash and the clock.
Submodules are imported by name (``from sync import client``), not here, so importing
``sync`` stays cheap for the CLI.
"""

__all__ = ["client", "hub", "protocol"]
