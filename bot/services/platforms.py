"""A chat platform as a whole: paused when it refuses paperwire's token or cannot be reached.

The sender (a post failed for the whole platform) and the gateway clients (login failed, or
came back) report here. The state lives in the database, so ``paperwire status`` in another
process and ``/healthz`` show the reason; a pause is logged once when it starts and once when
it ends, not at every retry.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.models import Platform, PlatformState
from bot.services.ports import Clock, Store

__all__ = ["MAX_RETRY", "REFUSED_RETRY", "PlatformHealthService"]

log = logging.getLogger(__name__)

# A refused token is tried again this often (a restart with a new token tries at once); a
# platform out of reach backs off from a minute up to MAX_RETRY.
REFUSED_RETRY = 900.0
MAX_RETRY = 3600.0


class PlatformHealthService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._failures: dict[Platform, int] = {}
        self._known: dict[Platform, PlatformState] = {}

    async def states(self) -> dict[Platform, PlatformState]:
        """Every platform's stored state (read fresh: other workers report too)."""
        self._known = {s.platform: s for s in await self._store.platform_states()}
        return dict(self._known)

    async def down(
        self,
        platform: Platform,
        reason: str,
        *,
        refused: bool,
        retry_after: float | None = None,
    ) -> PlatformState:
        """Pause ``platform`` with ``reason`` until it is due to be tried again."""
        failures = self._failures.get(platform, 0) + 1
        self._failures[platform] = failures
        if refused:
            wait = REFUSED_RETRY
        else:
            wait = min(MAX_RETRY, max(60.0 * 2.0 ** (failures - 1), retry_after or 0.0))
        now = self._clock.now()
        previous = self._known.get(platform)
        if previous is None or previous.paused_reason != reason:
            log.warning("%s paused: %s", platform.value, reason)
        state = PlatformState(
            platform,
            paused_reason=reason,
            paused_at=previous.paused_at if previous and previous.paused else now,
            retry_at=now + timedelta(seconds=wait),
            last_ok=previous.last_ok if previous else None,
        )
        self._known[platform] = state
        await self._store.save_platform_state(state)
        return state

    async def up(self, platform: Platform) -> None:
        """``platform`` works: clear its pause (a write only when it was paused)."""
        self._failures.pop(platform, None)
        state = self._known.get(platform)
        if state is not None and state.paused:
            log.warning("%s is back: its deliveries resume", platform.value)
            state = PlatformState(platform, last_ok=self._clock.now())
            self._known[platform] = state
            await self._store.save_platform_state(state)

    async def recheck(self) -> None:
        """Make paused platforms due now: a restart may have fixed their token."""
        now = self._clock.now()
        for state in (await self.states()).values():
            if state.paused and state.retry_at is not None and state.retry_at > now:
                fresh = PlatformState(
                    state.platform, state.paused_reason, state.paused_at, now, state.last_ok
                )
                self._known[state.platform] = fresh
                await self._store.save_platform_state(fresh)
