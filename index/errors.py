"""The one exception type a user can cause; its message is Chinese and names cause and fix."""


class ArchiveQAError(Exception):
    """An error caused by input or configuration, shown to the user without a traceback.

    `message` is Simplified Chinese and says what went wrong and, where possible, how to fix
    it. `source` names the file or setting involved, when there is one.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
