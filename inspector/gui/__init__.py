"""The desktop user interface: PySide6 widgets and models, and the window's
link to its engine."""
