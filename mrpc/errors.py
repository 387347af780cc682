"""The one exception type for mistakes a user can fix (bad data, bad config, missing model)."""


class UserError(Exception):
    """A problem with the user's input, reported as one readable message without a traceback.

    The message names the file, line or config key at fault and says how to fix it.
    """
