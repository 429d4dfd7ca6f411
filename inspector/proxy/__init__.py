"""The asyncio proxy engine. Imports ``inspector.core``; never Qt."""
