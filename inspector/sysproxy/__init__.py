"""Setting the desktop's proxy to Inspector and putting it back: the
platform backends, the manager with its state file, and the watchdog."""
