"""The link between a window (or a script) and its engine: the framed
message channel over a stream socket, the client that speaks the engine
protocol over it, and starting an engine in a process of its own. Qt-free,
and below both ``gui`` and ``proxy``: it imports only ``core``."""
