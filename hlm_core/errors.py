"""Errors a user can cause. Their text is shown as-is in the app and on the command line,
so each says, in plain words, what is wrong and what to change."""


class HLMError(Exception):
    """Base for every problem the user can fix (bad file, bad formula, bad model)."""


class ReadError(HLMError):
    """The uploaded file could not be read as a table."""


class FormulaError(HLMError):
    """The formula text is not valid lme4 syntax. `position` is the 0-based character offset."""

    def __init__(self, message: str, position: int | None = None, text: str | None = None):
        super().__init__(message)
        self.position = position
        self.text = text


class ModelError(HLMError):
    """The data cannot support the requested model (unknown column, too few groups, ...)."""
