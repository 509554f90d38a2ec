"""Access-token verification and authorisation dependencies."""

from kairos.platform.auth.principal import CurrentPrincipal, OptionalPrincipal, Principal, require
from kairos.platform.auth.tokens import TokenVerifier

__all__ = ["CurrentPrincipal", "OptionalPrincipal", "Principal", "TokenVerifier", "require"]
