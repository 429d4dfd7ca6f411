"""Pure logic shared by the engine and the GUI: flows, the flow store, events,
settings and HTTP message rules. Nothing here touches sockets or Qt."""
