"""Errors that reach the user as one line and exit status 2."""


class UserError(Exception):
    """A mistake the user can fix; the message says how. The CLI prints it and exits 2."""


class NotFittedError(RuntimeError):
    """`score` was called before `fit`."""


def check_is_fitted(detector, attribute: str) -> None:
    """Raise NotFittedError unless `detector` has the learned `attribute` (trailing underscore)."""
    if getattr(detector, attribute, None) is None:
        name = type(detector).__name__
        raise NotFittedError(f"this {name} is not fitted yet: call fit(train, ctx) before score()")
