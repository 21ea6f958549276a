"""A list of callbacks that each get every event, and a remover per subscription."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import CALLBACK_TYPE, callback


class Listeners[**P]:
    """Callbacks called in the order they subscribed; unsubscribing twice is harmless."""

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        """Start with none."""
        self._callbacks: list[Callable[P, None]] = []

    @callback
    def add(self, listener: Callable[P, None]) -> CALLBACK_TYPE:
        """Subscribe `listener`; returns the remover."""
        self._callbacks.append(listener)

        @callback
        def remove() -> None:
            if listener in self._callbacks:
                self._callbacks.remove(listener)

        return remove

    @callback
    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener (one may unsubscribe itself or another while called)."""
        for listener in tuple(self._callbacks):
            listener(*args, **kwargs)

    def clear(self) -> None:
        """Forget every listener."""
        self._callbacks.clear()
