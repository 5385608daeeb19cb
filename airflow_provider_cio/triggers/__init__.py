"""Deferrable waits: each trigger serializes only JSON-able kwargs and yields exactly one final event."""
