"""What counts as a leak: any raw email or phone of the synthetic workspace's people, or any devstack secret."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from cio_devkit.devstack import emulator_services as services
from cio_devkit.devstack.stack import AZURITE_KEY

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
SECRETS = {
    "customerio api key": services.CUSTOMERIO_API_KEY,
    "meta access token": services.META_TOKEN,
    "meta app secret": services.META_APP_SECRET,
    "google developer token": "devstack-developer-token",
    "azurite account key": AZURITE_KEY,
}


@dataclass(frozen=True)
class Leak:
    where: str
    kind: str
    sample: str  # masked: enough to find it, not enough to repeat it

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.sample}"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


class PiiScanner:
    """Raw values of the devstack workspace (built from the same generator and settings the emulator uses)."""

    def __init__(self) -> None:
        from cio_devkit.emulators.synthetic import generate_workspace

        workspace = services.WORKSPACE
        people = generate_workspace(
            people=int(workspace["people"]),
            seed=int(workspace["seed"]),
            start=date.fromisoformat(str(workspace["start"])),
            days=int(workspace["days"]),
        ).people
        self.emails = {e.strip().lower() for e in people["email"].to_pylist() if e}
        self.phones: set[str] = set()
        for phone in people["phone"].to_pylist():
            digits = _digits(phone or "")
            if len(digits) >= 8:
                self.phones.add(digits)
                if len(digits) == 11 and digits.startswith("1"):
                    self.phones.add(digits[1:])
                if len(digits) == 10:
                    self.phones.add("1" + digits)

    def scan(self, where: str, text: str) -> list[Leak]:
        leaks = [
            Leak(where, "email", m[:2] + "***")
            for m in EMAIL.findall(text)
            if m.strip(".").lower() in self.emails
        ]
        leaks += [
            Leak(where, "phone", "***" + _digits(m)[-2:])
            for m in PHONE.findall(text)
            if _digits(m) in self.phones
        ]
        leaks += [Leak(where, name, value[:3] + "***") for name, value in SECRETS.items() if value in text]
        return leaks
