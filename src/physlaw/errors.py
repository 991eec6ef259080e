"""Errors that physlaw raises on bad input.

``InputError`` is for anything a user can fix (a wrong file, a bad option, an improper prior): its
message says what was received, what was expected and how to fix it. The command-line interface
prints it as one line on stderr and exits with code 2.
"""


class InputError(ValueError):
    """A user-fixable problem with input data, options or a model specification."""
