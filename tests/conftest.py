"""Suite-wide settings: Qt runs offscreen, so the suite needs no display, and
nothing the tests start writes to the user's real configuration directory."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_home = tempfile.mkdtemp(prefix="inspector-test-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["INSPECTOR_HOME"] = _home
# Credentials from the developer's shell would put every test behind 407.
os.environ.pop("INSPECTOR_AUTH", None)
