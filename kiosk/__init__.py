"""kiosk: arrives with its own issue (see README)."""

__all__: list[str] = []
