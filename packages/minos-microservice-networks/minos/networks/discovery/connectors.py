"""``DiscoveryConnector``: registers the service while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from minos.common import MinosSetup

from ..decorators import EnrouteAnalyzer, services_from_config
from ..exceptions import MinosDiscoveryConnectorException, MinosNetworkException
from .clients import DiscoveryClient, MinosDiscoveryClient

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["DiscoveryConnector"]

_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


class DiscoveryConnector(MinosSetup):
    """Registers the service's REST endpoints on setup, unregisters on destroy.

    The service must start even when the discovery server does not answer,
    or answers slowly: registration runs in the background from setup on
    (``await wait_registered()`` waits for it). A failed attempt is logged as a
    WARNING and retried, waiting ``retry_delay`` seconds and doubling up to
    ``max_retry_delay``, until one succeeds or the connector is destroyed.
    On destroy, unregistering gets ``unregister_timeout`` seconds at most, so
    a hung discovery server does not hold up shutdown.

    From a configuration (the ``discovery`` injection): ``discovery.host`` and
    ``discovery.port`` name the server, ``discovery.client`` an optional
    ``DiscoveryClient`` class (``MinosDiscoveryClient`` by default),
    ``service.name`` the service and ``rest.host``/``rest.port`` where it is
    reached (a wildcard host such as ``0.0.0.0`` is replaced by this machine's
    host name). Without ``discovery.host`` the connector does nothing.
    """

    def __init__(
        self,
        client: DiscoveryClient | None,
        name: str,
        host: str,
        port: int,
        endpoints: Sequence[Mapping[str, str]] = (),
        *,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        unregister_timeout: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if client is not None:
            if not isinstance(name, str) or not name.strip():
                raise MinosNetworkException(
                    f"Invalid service.name {name!r}: discovery needs the service's name"
                )
            if not isinstance(host, str) or not host.strip():
                raise MinosNetworkException(
                    f"Invalid rest.host {host!r} for discovery: give the "
                    "address others reach this service at"
                )
            if not _is_int(port) or not 1 <= port <= 65535:
                raise MinosNetworkException(
                    f"Invalid rest.port {port!r} for discovery: use an integer "
                    "from 1 to 65535"
                )
        self.client = client
        self.name = name
        self.host = host
        self.port = int(port) if _is_int(port) else 0
        self.endpoints = [dict(e) for e in endpoints]
        self.retry_delay = _seconds(retry_delay, "retry_delay")
        self.max_retry_delay = _seconds(max_retry_delay, "max_retry_delay")
        self.unregister_timeout = _seconds(unregister_timeout, "unregister_timeout")
        self._registered = False
        self._maybe_registered = False
        self._retrying: asyncio.Task[None] | None = None
        self._registered_event = asyncio.Event()

    @classmethod
    def _from_config(
        cls, *args: Any, config: MinosConfig, **kwargs: Any
    ) -> DiscoveryConnector:
        discovery = config.discovery
        client = kwargs.pop("client", None)
        if client is None and discovery.host:
            if not discovery.port:
                raise config.exception(
                    "discovery.port",
                    "required when discovery.host is set (the discovery server port)",
                )
            client_class = (
                config.import_object("discovery.client")
                if discovery.client
                else MinosDiscoveryClient
            )
            client = client_class(discovery.host, discovery.port)

        name = kwargs.pop("name", config.service.name)
        host = kwargs.pop("host", None)
        port = kwargs.pop("port", None)
        if client is not None and (host is None or port is None):
            host = host if host is not None else _reachable_host(config.rest.host)
            port = port if port is not None else config.rest.port
        endpoints = kwargs.pop("endpoints", None)
        if endpoints is None:
            endpoints = _rest_endpoints(services_from_config(config))
        return cls(client, name, host or "", port or 0, endpoints, **kwargs)

    @property
    def enabled(self) -> bool:
        return self.client is not None

    @property
    def registered(self) -> bool:
        """Whether the discovery server confirmed the registration."""
        return self._registered

    async def wait_registered(self) -> None:
        """Wait until the discovery server confirms the registration.

        Bound it with ``asyncio.timeout``: with the server down it may never end.
        """
        await self._registered_event.wait()

    async def _setup(self) -> None:
        if self.client is None:
            logger.info(
                "Discovery is not configured (no discovery.host): %s is not registered",
                self.name,
            )
            return
        self._registered_event.clear()
        self._retrying = asyncio.create_task(
            self._register(), name=f"discovery registration of {self.name}"
        )

    # Limitation: registration happens once; a discovery server that restarts
    # and forgets its registrations is not told again until this service
    # restarts. A periodic re-registration (heartbeat) would fix it.
    async def _subscribe(self) -> None:
        assert self.client is not None
        self._maybe_registered = True
        await self.client.subscribe(self.name, self.host, self.port, self.endpoints)
        self._registered = True
        self._registered_event.set()
        logger.info(
            "Registered %s (%s:%s, %d endpoints) with discovery at %s:%s",
            self.name,
            self.host,
            self.port,
            len(self.endpoints),
            self.client.host,
            self.client.port,
        )

    async def _register(self) -> None:
        delay = self.retry_delay
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._subscribe()
                return
            except MinosDiscoveryConnectorException as exc:
                if attempt == 1:
                    logger.warning(
                        "Registering %s with discovery failed: %s; retrying in "
                        "the background",
                        self.name,
                        exc.message,
                    )
                else:
                    logger.warning(
                        "Registering %s with discovery failed (attempt %d): %s; "
                        "next try in %.1f s",
                        self.name,
                        attempt,
                        exc.message,
                        delay,
                    )
            except Exception:
                # A custom client's bug must not end the retries silently.
                logger.exception(
                    "Registering %s with discovery failed (attempt %d)",
                    self.name,
                    attempt,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry_delay)

    async def _destroy(self) -> None:
        retrying, self._retrying = self._retrying, None
        if retrying is not None:
            retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retrying

        # A registration cut short may still have reached the server.
        if self.client is None or not self._maybe_registered:
            return
        try:
            async with asyncio.timeout(self.unregister_timeout):
                await self.client.unsubscribe(self.name)
        except MinosDiscoveryConnectorException as exc:
            logger.warning("Unregistering %s failed: %s", self.name, exc.message)
        except TimeoutError:
            logger.warning(
                "Unregistering %s failed: no answer within %g s (discovery at %s:%s)",
                self.name,
                self.unregister_timeout,
                self.client.host,
                self.client.port,
            )
        else:
            logger.info("Unregistered %s from discovery", self.name)
        finally:
            self._registered = False
            self._maybe_registered = False
            self._registered_event.clear()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: Any, name: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise MinosNetworkException(
            f"Invalid discovery {name} {value!r}: use a positive number of seconds"
        )
    return float(value)


def _rest_endpoints(service_classes: Sequence[type]) -> list[dict[str, str]]:
    """The ``{"url", "method"}`` of every REST route the classes declare."""
    found: set[tuple[str, str]] = set()
    for cls in service_classes:
        for routes in EnrouteAnalyzer(cls).get_rest_command_query().values():
            found.update((route.url, route.method) for route in routes)
    return [{"url": url, "method": method} for url, method in sorted(found)]


def _reachable_host(host: str) -> str:
    """A host others can reach: a wildcard bind address means this machine."""
    if host in _WILDCARD_HOSTS:
        return socket.gethostname()
    return host
