class EditConflict(Exception):
    """Someone else saved the record after the editor loaded it; nothing was written.

    `current` is the record as it is now in the database, to show the editor.
    """

    def __init__(self, current):
        super().__init__(f"{current} was changed by someone else.")
        self.current = current
