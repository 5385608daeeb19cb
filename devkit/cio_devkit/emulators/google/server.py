"""One gRPC server hosting the Data Manager IngestionService and the Google Ads v26 Customer Match services.

Start/stop from tests or the devstack::

    emulator = GoogleEmulator(tls=True).start()   # binds 127.0.0.1 on a free port
    emulator.trust()                              # before the first default TLS channel in this process
    ...                                           # real SDK clients against emulator.target
    emulator.stop()

With ``tls=True`` the server presents a self-signed certificate for localhost/127.0.0.1 (see ``certs.py`` for why
and for the once-per-process caveat of ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from cio_devkit.emulators.google import certs
from cio_devkit.emulators.google.ads_service import AdsServices
from cio_devkit.emulators.google.datamanager_service import DataManagerService
from cio_devkit.emulators.google.faults import Fault, FaultBook
from cio_devkit.emulators.google.settings import EmulatorSettings
from cio_devkit.emulators.google.state import EmulatorState, RecordedRequest

log = logging.getLogger(__name__)


class EmulatorCore:
    """State + faults + settings shared by the service handlers."""

    def __init__(self, settings: EmulatorSettings, clock_ns: Callable[[], int]) -> None:
        self.settings = settings
        self.state = EmulatorState(clock_ns=clock_ns)
        self.faults = FaultBook()


class GoogleEmulator:
    """The emulator process-in-a-thread: ``start()``, ``stop()``, inspection and fault-injection helpers."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = True,
        cert_dir: Path | None = None,
        settings: EmulatorSettings | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.cert_dir = cert_dir
        self.core = EmulatorCore(settings or EmulatorSettings(), clock_ns)
        self._dm = DataManagerService(self.core)
        self._ads = AdsServices(self.core)
        self._server: grpc.Server | None = None
        self.certificate: certs.CertificatePair | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> GoogleEmulator:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        server.add_generic_rpc_handlers((self._dm.handler(), *self._ads.handlers()))
        address = f"{self.host}:{self.port}"
        if self.tls:
            if self.cert_dir is not None:
                self.certificate = certs.load(self.cert_dir) or certs.generate(self.cert_dir)
            else:
                self.certificate = certs.process_certificate()
            creds = grpc.ssl_server_credentials([(self.certificate.key_pem(), self.certificate.cert_pem())])
            self.port = server.add_secure_port(address, creds)
        else:
            self.port = server.add_insecure_port(address)
        server.start()
        self._server = server
        log.info("google emulator listening on %s (tls=%s)", self.target, self.tls)
        return self

    def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def __enter__(self) -> GoogleEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def cert_path(self) -> Path | None:
        return self.certificate.cert_path if self.certificate else None

    def trust(self) -> None:
        """Make default TLS channels in this process trust the emulator (effective before the first one only)."""
        if self.certificate is None:
            raise RuntimeError("trust() needs a started emulator with tls=True")
        certs.trust_bundle(self.certificate)

    # -- seeding, inspection ---------------------------------------------------------------------------------
    def create_user_list(self, customer_id: str, name: str, **attrs: Any) -> int:
        """Create a Customer Match list (Data Manager cannot); returns its id (the product_destination_id)."""
        return self.core.state.create_user_list(customer_id, name, **attrs).id

    def list_id(self, customer_id: str, name: str) -> int | None:
        with self.core.state.lock:
            for user_list in self.core.state.lists_of(customer_id):
                if user_list.name == name:
                    return user_list.id
        return None

    def members(self, customer_id: str, list_id: int) -> set[frozenset[str]]:
        """The list's members, each as its set of identifier keys (``email:<sha256>``, ``phone:<sha256>``, ...)."""
        with self.core.state.lock:
            self._dm.process_due()
            user_list = self.core.state.find_list(customer_id, list_id)
            if user_list is None:
                raise KeyError(f"no user list {list_id} in customer {customer_id}")
            return {m.keys for m in user_list.members}

    def size_history(self, customer_id: str, list_id: int) -> list[int]:
        with self.core.state.lock:
            self._dm.process_due()
            user_list = self.core.state.find_list(customer_id, list_id)
            return list(user_list.size_history) if user_list else []

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.core.state.lock:
            return list(self.core.state.requests)

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    def job_status(self, resource_name: str) -> str:
        with self.core.state.lock:
            return self.core.state.jobs[resource_name].status

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> None:
        """Move the emulator's clock forward: memberships lapse, jobs and sizes catch up (both APIs)."""
        self.core.state.advance(seconds + days * 86_400)

    def membership_life_span(self, customer_id: str, list_id: int) -> int:
        with self.core.state.lock:
            self._dm.process_due()
            user_list = self.core.state.find_list(customer_id, list_id)
            if user_list is None:
                raise KeyError(f"no user list {list_id} in customer {customer_id}")
            return user_list.membership_life_span

    def settle(self) -> None:
        """Finish every pending Data Manager request and running Ads job, as Google eventually would."""
        self._dm.settle()
        self._ads.settle()

    # -- faults -------------------------------------------------------------------------------------------------
    def inject(self, kind: str, *, method: str = "*", times: int = 1, **options: Any) -> Fault:
        """Arm a fault (see ``faults.py`` for kinds); it fires on the next matching call(s)."""
        return self.core.faults.arm(Fault(kind=kind, method=method, times=times, **options))

    def clear_faults(self) -> None:
        self.core.faults.clear()

    @property
    def settings(self) -> EmulatorSettings:
        return self.core.settings
