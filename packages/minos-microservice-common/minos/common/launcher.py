"""Starting and stopping a microservice, and the ``minos`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Self

from .config import MinosConfig
from .database import close_database_pools
from .exceptions import MinosException
from .importlib import classname, import_module
from .injection import DependencyInjector
from .setup import MinosSetup

__all__ = ["EntrypointLauncher", "LaunchException", "main"]

logger = logging.getLogger(__name__)

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LaunchException(MinosException):
    """The microservice could not start, or its shutdown was interrupted."""


class EntrypointLauncher(MinosSetup):
    """Runs a microservice: container, injections, background services, signals.

    ``launch()`` blocks in its own event loop until SIGINT or SIGTERM, then
    stops the services in reverse order, destroys the injections and closes the
    database pools. A second signal during shutdown aborts it. Any failure at
    start-up is logged, undoes what was started and raises ``LaunchException``.
    """

    def __init__(
        self,
        config: MinosConfig,
        injections: Mapping[str, Any] | None = None,
        services: Sequence[Any] | None = None,
        external_modules: Sequence[ModuleType | str] = (),
        *args: Any,
        log_level: int | str = logging.INFO,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config = config
        self.injector = DependencyInjector(config, injections)
        if services is None:
            services = [
                config.import_object(f"service.services[{index}]")
                for index in range(len(config.service.services))
            ]
        self._service_targets = [_resolve_service(target) for target in services]
        self.external_modules = list(external_modules)
        self.log_level = log_level
        # False once a service's stop() raised: the exit code must show it.
        self.stopped_cleanly = True
        self.services: list[Any] = []
        self._stop_requested: asyncio.Event | None = None
        self._shutdown: asyncio.Task[None] | None = None

    @classmethod
    def _from_config(
        cls,
        *args: Any,
        config: MinosConfig,
        external_modules: Sequence[ModuleType | str] = (),
        **kwargs: Any,
    ) -> Self:
        return cls(config, *args, external_modules=external_modules, **kwargs)

    def launch(self) -> None:
        """Run the microservice in a new event loop until a stop signal arrives."""
        if not logging.getLogger().handlers:
            logging.basicConfig(level=self.log_level, format=_LOG_FORMAT)
        try:
            asyncio.run(self.run())
        except asyncio.CancelledError:
            raise LaunchException(
                "shutdown interrupted by a second signal; some resources "
                "may not have been released"
            ) from None

    async def run(self) -> None:
        """Start everything, wait for a stop request or signal, stop everything."""
        loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        handled = self._handle_signals(loop)
        stop_waiter = asyncio.ensure_future(self._stop_requested.wait())
        try:
            startup = asyncio.ensure_future(self.setup())
            await asyncio.wait(
                {startup, stop_waiter}, return_when=asyncio.FIRST_COMPLETED
            )
            if not startup.done():
                logger.info("stop requested during start-up; undoing it")
                startup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await startup
                return
            startup.result()

            await stop_waiter
            logger.info("stopping microservice %r", self.config.service.name)
        finally:
            stop_waiter.cancel()
            self._shutdown = asyncio.ensure_future(self.destroy())
            try:
                await self._shutdown
            finally:
                for signum in handled:
                    loop.remove_signal_handler(signum)
        logger.info("microservice %r stopped", self.config.service.name)

    def request_stop(self) -> None:
        """Ask a running launcher to stop, as SIGTERM does."""
        if self._stop_requested is None:
            return
        if not self._stop_requested.is_set():
            self._stop_requested.set()
        elif self._shutdown is not None and not self._shutdown.done():
            logger.warning("second stop request: aborting the shutdown")
            self._shutdown.cancel()

    def _handle_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        handled = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                # Limitation: outside the main thread (or on Windows) signals
                # cannot reach the loop; call request_stop() instead.
                continue
            handled.append(signum)
        return handled

    def _on_signal(self, signum: int) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        self.request_stop()

    async def _setup(self) -> None:
        name = self.config.service.name
        logger.info("starting microservice %r from %s", name, self.config.source)
        try:
            await self.injector.wire(modules=self.external_modules)
            logger.info(
                "injections ready: %s", ", ".join(self.injector.names) or "none"
            )
            for target in self._service_targets:
                await self._start_service(target)
        except BaseException as exc:
            if isinstance(exc, Exception):
                # A minos error already says what is wrong; a traceback only
                # helps for unexpected ones (it stays available at DEBUG).
                expected = _root_is_minos_error(exc)
                logger.error(
                    "microservice %r failed to start: %s",
                    name,
                    exc,
                    exc_info=None if expected else exc,
                )
                if expected:
                    logger.debug("start-up failure traceback", exc_info=exc)
            await self._stop_everything()
            if isinstance(exc, LaunchException):
                raise
            if isinstance(exc, MinosException):
                raise LaunchException(exc.message) from exc
            if isinstance(exc, Exception):
                raise LaunchException(f"{type(exc).__name__}: {exc}") from exc
            raise

        if "rest" in self.config:
            logger.info(
                "REST interface configured on %s:%s",
                self.config.rest.host,
                self.config.rest.port,
            )
        logger.info(
            "microservice %r is running with %d services", name, len(self.services)
        )

    async def _start_service(self, target: Any) -> None:
        label = classname(target) if isinstance(target, type) else repr(target)
        try:
            service = _build_service(target, self.config)
        except Exception as exc:
            raise LaunchException(
                f"service {label} cannot be built: {_reason(exc)}"
            ) from exc
        try:
            await service.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await service.stop()
            raise LaunchException(
                f"service {label} failed to start: {_reason(exc)}"
            ) from exc
        self.services.append(service)
        logger.info("started %s", label)

    async def _destroy(self) -> None:
        await self._stop_everything()

    async def _stop_everything(self) -> None:
        while self.services:
            service = self.services.pop()
            try:
                await service.stop()
            except Exception:
                self.stopped_cleanly = False
                logger.exception("service %s failed to stop", classname(service))
            else:
                logger.info("stopped %s", classname(service))
        await self.injector.unwire()
        try:
            await close_database_pools()
        except Exception:
            logger.exception("closing the database pools failed")


def _root_is_minos_error(exc: BaseException) -> bool:
    """Whether a minos error below the launcher already described the failure."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, MinosException):
            return True
        cause = cause.__cause__
    return False


def _resolve_service(target: Any) -> Any:
    if isinstance(target, str):
        return import_module(target)
    return target


def _build_service(target: Any, config: MinosConfig) -> Any:
    """Build a service class from the config; an instance is used as given."""
    if not isinstance(target, type):
        service = target
    elif hasattr(target, "from_config"):
        service = target.from_config(config)
    else:
        service = target()
    for method in ("start", "stop"):
        if not callable(getattr(service, method, None)):
            raise LaunchException(
                f"{service!r} has no {method}() method; derive it from "
                "minos.common.BackgroundService"
            )
    return service


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MinosException):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> None:
    """The ``minos`` command: ``minos run [DIRECTORY]``."""
    parser = argparse.ArgumentParser(
        prog="minos", description="Run minos microservices."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="run the microservice of a directory holding config.yml and src/",
        description="Run the microservice of DIRECTORY (config.yml and src/), "
        "as if started from inside it.",
    )
    run.add_argument("directory", nargs="?", default=".", help="default: .")
    run.add_argument(
        "--config",
        default="config.yml",
        help="the config file, relative to DIRECTORY (default: config.yml)",
    )
    run.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: INFO",
    )
    args = parser.parse_args(argv)
    sys.exit(_run_directory(Path(args.directory), args.log_level, args.config))


def _run_directory(
    directory: Path, log_level: str, config_name: str = "config.yml"
) -> int:
    """Run the service directory; return the process exit code."""
    if not directory.is_dir():
        return _fail(f"{directory}: not a directory")
    directory = directory.resolve()
    config_path = directory / config_name
    if not config_path.is_file():
        return _fail(f"{config_path}: no such file; a service directory needs one")

    logging.basicConfig(level=log_level, format=_LOG_FORMAT)
    os.chdir(directory)  # relative paths in config.yml are relative to it
    sys.path.insert(0, str(directory))
    external = (
        ["src"]
        if (directory / "src").is_dir() or (directory / "src.py").is_file()
        else []
    )

    try:
        config = MinosConfig(config_path)
        launcher = EntrypointLauncher.from_config(config, external_modules=external)
    except MinosException as exc:
        return _fail(str(exc))
    try:
        launcher.launch()
    except LaunchException as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    if not launcher.stopped_cleanly:
        return _fail("a service failed to stop cleanly (see the log above)")
    return 0


def _fail(message: str) -> int:
    print(f"minos: error: {message}", file=sys.stderr)
    return 1
