"""PyInstaller's entry script: the same ``main`` as the ``inspector`` console script.

A separate file rather than ``inspector/__main__.py`` so that PyInstaller
does not put ``inspector/`` itself on the module search path (where
``resources.py`` or ``app.py`` could be picked up as top-level modules).
"""

from inspector.cli import main

raise SystemExit(main())
