"""Login tokens: kept per year directory, renewed before they expire."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt


@dataclass(frozen=True, slots=True)
class Token:
    """A login token of one year directory; ``expires_at`` is a UNIX time, if known."""

    raw: str
    expires_at: float | None

    @classmethod
    def from_raw(cls, raw: str) -> Token:
        """Read the expiry from the JWT's ``exp`` claim without verifying the signature.

        The bridge has no key to verify with; the server does that. A token that is not a
        readable JWT is still used, and a 401 tells when it has expired.
        """
        try:
            claims = jwt.decode(raw, options={"verify_signature": False})
        except jwt.PyJWTError:
            return cls(raw, None)
        exp = claims.get("exp")
        return cls(raw, float(exp) if isinstance(exp, int | float) else None)

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """True when the token expires in less than ``seconds``."""
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) < seconds

    def __repr__(self) -> str:
        """Never show the token itself."""
        return f"Token(raw=<redacted>, expires_at={self.expires_at})"
