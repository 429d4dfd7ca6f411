"""The desktop user interface: PySide6 widgets, models and the relay bridge."""
