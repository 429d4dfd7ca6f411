"""The soak: steady mixed traffic through the desktop app for minutes, watching
that memory, descriptors and tasks level off (``python -m tests.soak.soak``)."""
