"""The one exception type for bad input: its message names the file, column and row."""


class InputError(ValueError):
    """Input data or configuration that the pipeline cannot use, explained for the analyst."""
