"""The simulator: a real aiohttp server on loopback around one device model.

Example::

    async with start_simulator("current") as sim:
        sim.model.plug_in()
        sim.model.advance(60)
        ...  # talk HTTP to f"http://{sim.host}"
        await sim.reboot(seconds=2)  # refused for 2 s, back on the same port

Everything a test or benchmark may want to count is counted here:
``requests`` (per path, ``/sim/*`` excluded), ``rapi_frames`` (every frame
received on ``/r``), ``rapi_commands`` (per command code),
``ws_frames_sent``, and ``model.eeprom_writes``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections import Counter
from types import TracebackType
from typing import Any, Literal, Self, overload

from aiohttp import web
from aiohttp.typedefs import Handler

from .control import ControlRoutes
from .current import CurrentDevice
from .device import Device, DeviceKind, DeviceOptions, Identity, default_model
from .faults import Fault, FaultQueue
from .goe import GOE_KIND, GoeModel, GoeSimulator, GoeSimulatorStarter
from .goplug import GoPlugDevice
from .legacy import LegacyDevice
from .model import EVENT_CHANGE, EvseModel, Mode
from .rapi import RapiProcessor
from .starter import Starter

DEVICE_CLASSES: dict[DeviceKind, type[Device]] = {
    DeviceKind.CURRENT: CurrentDevice,
    DeviceKind.LEGACY: LegacyDevice,
    DeviceKind.GOPLUG: GoPlugDevice,
}

# Bytes appended by the "trailing_garbage" fault: NUL padding after the JSON,
# as firmware that sends its whole buffer would.
TRAILING_GARBAGE = b"\x00\x00"

# Handlers still running when the server stops get this long to finish.
_SHUTDOWN_TIMEOUT = 1.0

_HTML_FAULT_PAGE = (
    "<html><head><title>Error</title></head><body><h1>Temporarily unavailable</h1>"
    "</body></html>"
)


class Simulator:
    """One simulated charger served over HTTP on ``host:port``."""

    def __init__(
        self,
        kind: DeviceKind | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
        model: EvseModel | None = None,
        options: DeviceOptions | None = None,
        realtime: bool = False,
        tick_seconds: float = 1.0,
        reboot_seconds: float = 5.0,
        timeout_delay: float = 15.0,
        identity_seed: int | None = None,
    ) -> None:
        """Prepare (but do not start) a simulator of ``kind``.

        ``port=0`` picks a free port at the first start; later restarts reuse
        it. With ``username`` the device demands HTTP Basic authentication.
        ``realtime`` runs a ticker that advances the model every
        ``tick_seconds``. ``timeout_delay`` is how long the ``timeout`` fault
        stalls a request (cut short when the server stops).
        """
        self.kind = DeviceKind(kind)
        self.model = model if model is not None else default_model(self.kind)
        self.options = options if options is not None else DeviceOptions()
        self.credentials: tuple[str, str] | None = (
            (username, password or "") if username else None
        )
        self.realtime = realtime
        self.tick_seconds = tick_seconds
        self.reboot_seconds = reboot_seconds
        self.timeout_delay = timeout_delay
        self.faults = FaultQueue()
        self.requests: Counter[str] = Counter()
        self.rapi_frames: list[str] = []
        self.rapi_commands: Counter[str] = Counter()
        self.ws_frames_sent = 0
        self._host = host
        self._port = port
        self._identity_seed = identity_seed
        self._identity: Identity | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._powered = True
        self.device = DEVICE_CLASSES[self.kind](self)
        self.model.add_listener(self._on_model_event)

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        """The TCP port (0 until the first start when it was left to the OS)."""
        return self._port

    @property
    def ip(self) -> str:
        """The address the server listens on."""
        return self._host

    @property
    def host(self) -> str:
        """``ip:port``, as an integration's config flow would take it."""
        return f"{self._host}:{self._port}"

    @property
    def url(self) -> str:
        """Base URL of the device."""
        return f"http://{self.host}"

    @property
    def serving(self) -> bool:
        """Whether connections are accepted right now."""
        return self._runner is not None

    @property
    def identity(self) -> Identity:
        """MAC, serial, host name and MCU id (derived from the port by default)."""
        if self._identity is None:
            seed = self._identity_seed if self._identity_seed is not None else self.port
            self._identity = Identity.create(self.kind, seed)
        return self._identity

    def describe(self) -> str:
        """One line about what this simulator pretends to be."""
        return self.device.description

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving (on the same port as before after a stop)."""
        if self._runner is not None:
            return
        app = web.Application(middlewares=[self._middleware])
        self.device.add_routes(app)
        ControlRoutes(self).add_routes(app)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._port = runner.addresses[0][1]
        self._runner = runner
        self._stopping.clear()
        if self.device.has_mcu_id and self.model.mcu_id is None:
            self.model.mcu_id = self.identity.mcu_id
        self.device.on_start()
        if self.realtime and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick_loop(), name=f"evse-sim-ticker-{self._port}"
            )

    async def stop(self) -> None:
        """Stop serving: new connections are refused, websockets dropped."""
        runner = self._runner
        if runner is None:
            return
        self._runner = None
        self._stopping.set()
        await self.device.on_stop()
        await runner.cleanup()

    async def close(self) -> None:
        """Stop everything, including the ticker and pending reboots."""
        tasks = list(self._tasks)
        if self._ticker is not None:
            tasks.append(self._ticker)
            self._ticker = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stop()

    async def reboot(
        self, seconds: float | None = None, *, controller: bool = True
    ) -> None:
        """Restart the unit: refused for ``seconds``, then back on the same port.

        The WiFi module loses its RAM state (claims, override, limit); with
        ``controller`` the EVSE controller restarts too (volatile current,
        session and RAPI limits are lost; EEPROM settings stay).
        """
        await self.stop()
        self.device.gateway_boot()
        if controller:
            self._powered = False
            self.model.reboot()
        try:
            await asyncio.sleep(self.reboot_seconds if seconds is None else seconds)
        finally:
            self._powered = True
        await self.start()

    def schedule_reboot(
        self, seconds: float | None = None, *, controller: bool = True
    ) -> asyncio.Task[None]:
        """Reboot in the background (so the current request can still answer)."""
        task = asyncio.get_running_loop().create_task(
            self.reboot(seconds, controller=controller),
            name=f"evse-sim-reboot-{self._port}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def __aenter__(self) -> Self:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close everything."""
        await self.close()

    # ------------------------------------------------------------ test hooks

    def inject(
        self,
        fault: Fault | str,
        count: int = 1,
        *,
        path: str | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``count`` matching requests suffer ``fault``.

        ``path`` restricts HTTP faults to paths starting with it; ``delay``
        overrides ``timeout_delay`` for the ``timeout`` fault.
        """
        self.faults.inject(fault, count, path=path, delay=delay)

    def clear_faults(self) -> None:
        """Forget injected faults that have not fired yet."""
        self.faults.clear()

    def ignore_commands(self, ignore: bool = True) -> None:
        """Acknowledge RAPI set commands without applying them (or stop)."""
        processor = getattr(self.device, "processor", None)
        if not isinstance(processor, RapiProcessor):
            raise TypeError(f"{self.kind} has no RAPI controller")
        processor.ignore_commands = ignore

    def reset_counters(self) -> None:
        """Zero the request, RAPI, websocket and EEPROM counters."""
        self.requests.clear()
        self.rapi_frames.clear()
        self.rapi_commands.clear()
        self.ws_frames_sent = 0
        self.model.eeprom_writes = 0

    def advance(self, seconds: float) -> None:
        """Shortcut for ``model.advance``."""
        self.model.advance(seconds)

    def record_rapi(self, frame: str) -> None:
        """Count one RAPI frame received over HTTP."""
        self.rapi_frames.append(frame)
        self.rapi_commands[frame[1:3] if frame.startswith("$") else frame[:2]] += 1

    def notify(self) -> None:
        """Tell push channels that something may have changed."""
        self.device.changed()

    @property
    def offered(self) -> int:
        """Amps the pilot offers a car right now (0 while it cannot charge)."""
        model = self.model
        return model.current_capacity if model.mode is Mode.ACTIVE else 0

    @property
    def could_offer(self) -> int:
        """The most it may offer without anyone commanding it.

        The pilot now, or after a reboot / a released claim: the saved
        current. What a charging group's safety is measured against.
        """
        model = self.model
        return max(model.current_capacity, model.eeprom_current)

    def push_raw(self, text: str) -> None:
        """Push ``text`` as it is to every ``/ws`` client (``current`` only).

        For frames no firmware should send: ``{"state":1e999}``, ``NaN``,
        broken JSON. They are not merged into what the clients have seen.
        """
        if not isinstance(self.device, CurrentDevice):
            # ValueError: what /sim answers with 400 (a request, not a bug).
            raise ValueError(f"{self.kind} has no websocket")  # noqa: TRY004
        self.device.push_raw(text)

    def config_changed(self) -> None:
        """Change a setting on the unit (``current``: ``config_version`` moves)."""
        if not isinstance(self.device, CurrentDevice):
            raise ValueError(f"{self.kind} has no config_version")  # noqa: TRY004
        self.device.config_version += 1
        self.notify()

    def snapshot(self) -> dict[str, Any]:
        """State and counters, for ``GET /sim/state`` and humans."""
        model = self.model
        limit = model.gateway_limit
        return {
            "kind": str(self.kind),
            "url": self.url,
            "serving": self.serving,
            "state": int(model.state),
            "state_name": model.state.name.lower(),
            "connected": model.connected,
            "ev_ready": model.ev_ready,
            "mode": str(model.mode),
            "fault": None if model.fault_kind is None else str(model.fault_kind),
            "pilot": model.current_capacity,
            "eeprom_current": model.eeprom_current,
            "offered": self.offered,
            "could_offer": self.could_offer,
            "milliamps": model.measured_milliamps,
            "voltage": model.voltage,
            "session_wh": round(model.session_wh, 3),
            "total_wh": round(model.total_wh, 3),
            "elapsed": int(model.elapsed),
            "clock": model.clock,
            "charge_limit_kwh": model.charge_limit_kwh,
            "time_limit_15": model.time_limit_15,
            "gateway_limit": None
            if limit is None
            else {"type": limit.type, "value": limit.value},
            "limit_sleep": model.limit_sleep,
            "eeprom_writes": model.eeprom_writes,
            "requests": dict(self.requests),
            "rapi_frames": len(self.rapi_frames),
            "ws_frames_sent": self.ws_frames_sent,
            "faults_pending": [
                {"fault": str(fault), "remaining": left}
                for fault, left in self.faults.pending()
            ],
        }

    # ------------------------------------------------------------ internals

    def _on_model_event(self, event: str) -> None:
        if event == EVENT_CHANGE:
            self.notify()

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.tick_seconds)
            now = loop.time()
            if self._powered:
                self.model.advance(now - last)
            last = now

    def _authorized(self, request: web.Request) -> bool:
        if self.credentials is None:
            return True
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("latin-1")
        except binascii.Error:
            return False
        user, _, password = decoded.partition(":")
        return (user, password) == self.credentials

    def _unauthorized(self) -> web.Response:
        return web.Response(
            status=401,
            text="Unauthorized",
            headers={"WWW-Authenticate": f'Basic realm="{self.identity.hostname}"'},
        )

    async def _stall(self, seconds: float) -> None:
        """Hold a request, but let it go at once when the server stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if request.path == "/sim" or request.path.startswith("/sim/"):
            return await handler(request)
        self.requests[request.path] += 1
        taken = self.faults.take(request.path, rapi=False)
        fault = None if taken is None else taken[0]
        if fault is Fault.TIMEOUT:
            delay = taken[1] if taken is not None else None
            await self._stall(self.timeout_delay if delay is None else delay)
        if fault is Fault.HTTP_401 or not self._authorized(request):
            return self._unauthorized()
        if fault is Fault.HTTP_500:
            return web.Response(status=500, text="Internal Server Error")
        if fault is Fault.HTTP_404:
            return web.Response(status=404, text='{"msg":"Not found"}')
        response = await handler(request)
        if request.method != "GET":
            self.notify()
        if fault is Fault.HTML:
            return web.Response(text=_HTML_FAULT_PAGE, content_type="text/html")
        if (
            fault in (Fault.TRAILING_GARBAGE, Fault.DROP)
            and isinstance(response, web.Response)
            and not response.prepared
            and isinstance(response.body, bytes)
        ):
            if fault is Fault.DROP:
                return await _drop(request, response, response.body)
            response.body = response.body + TRAILING_GARBAGE
        return response


async def _drop(
    request: web.Request, response: web.Response, body: bytes
) -> web.StreamResponse:
    """Send the headers and half the body, then close the connection."""
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return stream


SimulatorStarter = Starter[Simulator]


@overload
def start_simulator(  # type: ignore[overload-overlap]  # "goe" is also a str
    kind: Literal["goe"],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    unit_id: int = 1,
    model: GoeModel | None = None,
    realtime: bool = False,
    tick_seconds: float = 1.0,
    reboot_seconds: float = 5.0,
    identity_seed: int | None = None,
) -> GoeSimulatorStarter: ...


@overload
def start_simulator(
    kind: DeviceKind | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    username: str | None = None,
    password: str | None = None,
    model: EvseModel | None = None,
    options: DeviceOptions | None = None,
    realtime: bool = False,
    tick_seconds: float = 1.0,
    reboot_seconds: float = 5.0,
    timeout_delay: float = 15.0,
    identity_seed: int | None = None,
) -> SimulatorStarter: ...


def start_simulator(
    kind: DeviceKind | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    username: str | None = None,
    password: str | None = None,
    model: EvseModel | GoeModel | None = None,
    options: DeviceOptions | None = None,
    realtime: bool = False,
    tick_seconds: float = 1.0,
    reboot_seconds: float = 5.0,
    timeout_delay: float = 15.0,
    identity_seed: int | None = None,
    unit_id: int = 1,
) -> SimulatorStarter | GoeSimulatorStarter:
    """Create and start a simulator (see :class:`Simulator` for the arguments).

    ``"goe"`` is a go-e Charger over Modbus TCP (:class:`GoeSimulator`).
    """
    if kind == GOE_KIND:
        return GoeSimulatorStarter(
            GoeSimulator(
                host=host,
                port=port,
                unit_id=unit_id,
                model=model if isinstance(model, GoeModel) else None,
                realtime=realtime,
                tick_seconds=tick_seconds,
                reboot_seconds=reboot_seconds,
                identity_seed=identity_seed,
            )
        )
    return SimulatorStarter(
        Simulator(
            kind,
            host=host,
            port=port,
            username=username,
            password=password,
            model=model if isinstance(model, EvseModel) else None,
            options=options,
            realtime=realtime,
            tick_seconds=tick_seconds,
            reboot_seconds=reboot_seconds,
            timeout_delay=timeout_delay,
            identity_seed=identity_seed,
        )
    )
