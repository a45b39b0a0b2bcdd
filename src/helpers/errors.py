"""The one exception type for bad input (its message names the file, column and row), and the
check of a declared yes/no expression."""

import numpy as np


class InputError(ValueError):
    """Input data or configuration that the pipeline cannot use, explained for the analyst."""


def condition(frame, expression: str, where: str):
    """A declared yes/no pandas expression evaluated on `frame`; an expression that fails,
    or is not yes/no, is an InputError saying `where` it was declared."""
    try:
        values = frame.eval(expression)
    except Exception as exc:
        raise InputError(f"{where}: {expression!r} cannot be applied ({exc})") from None
    if getattr(values, "dtype", None) != np.dtype(bool):
        raise InputError(f"{where}: {expression!r} is not a yes/no condition")
    return values
