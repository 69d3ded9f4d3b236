"""The error type for mistakes a user can make; the CLI turns it into one line and exit status 2."""


class UserError(ValueError):
    """A problem in user input (architecture, YAML, path, URL) whose message is fit to show as is."""
