"""``with`` blocks for the engine's objects that hold something open (clients, the sandbox)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing(ABC):
    """A context manager: entering gives the object itself, the block's end (however it
    ends) calls :meth:`close`. A subclass that must start something on entering overrides
    ``__enter__``."""

    @abstractmethod
    def close(self) -> None:
        """Release what the object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
