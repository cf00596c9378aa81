"""The errors of the notebook commands: each says what went wrong, with which input, and what to do.

The ``%canfar`` magic shows them as a few lines of text (never a traceback); the Python API raises them,
so code can catch ``CanfarError``.
"""

from typing import List, Optional


class CanfarError(Exception):
    """A failed command. ``service_message`` is the Skaha service's own text when it refused."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "failed",
        status: Optional[int] = None,
        service_message: Optional[str] = None,
        problems: Optional[List[str]] = None,
        hint: Optional[str] = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.service_message = service_message
        self.problems = list(problems or [])
        self.hint = hint

    def lines(self) -> List[str]:
        """What a user reads: the message, each problem, the hint."""
        out = [self.message]
        out += [f"  - {problem}" for problem in self.problems if problem not in self.message]
        if self.hint and self.hint not in self.message:
            out.append(f"hint: {self.hint}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


class CanfarUsageError(CanfarError):
    """Bad arguments: the message, then the verb's usage (from the CLI's own declaration)."""

    def __init__(self, message: str, *, verb: str = "", usage: str = ""):
        super().__init__(message, code="usage")
        self.verb = verb
        self.usage = usage

    def lines(self) -> List[str]:
        head = f"%canfar {self.verb}: {self.message}" if self.verb else f"%canfar: {self.message}"
        return [head] + ([""] + self.usage.rstrip("\n").splitlines() if self.usage else [])


class NoRouteError(CanfarError):
    """Neither the JupyterLab extension nor the canfar-lab CLI can run the command here."""

    def __init__(self, message: str):
        super().__init__(message, code="no-route")
