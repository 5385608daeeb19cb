"""Knobs that make the emulator behave like the real services in the ways our tests care about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EmulatorSettings:
    """``processing_polls`` / ``job_polls``: how many status reads answer PROCESSING / RUNNING before the request or
    job finishes (poll-count driven, never wall-clock, so tests are deterministic). ``require_consent``: members
    without granted ``ad_user_data`` consent are accepted but never join a list (EEA behaviour).
    """

    processing_polls: int = 1
    job_polls: int = 1
    require_consent: bool = True
    match_rate_percent: int = 70


def match_rate_bucket(percent: int) -> str:
    """The 10-point bucket both APIs report ("91_TO_100", "LESS_THAN_20", ...)."""
    if percent < 20:
        return "LESS_THAN_20"
    if percent <= 30:
        return "20_TO_30"
    low = ((percent - 1) // 10) * 10 + 1
    return f"{low}_TO_{min(low + 9, 100)}"


def enum_member(enum_cls: Any, name: str) -> Any:
    """``enum_cls[name]`` for proto-plus enums (which type checkers cannot index)."""
    return enum_cls[name]
