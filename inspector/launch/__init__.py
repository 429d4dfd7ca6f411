"""Launching clients pointed at Inspector: their profiles and CA files on
disk, and the processes that run them and clean up after them. The
arguments, prefs and environment themselves are pure code in
``core.launch_args``, ``core.launch_env`` and ``core.launch_clients``."""
