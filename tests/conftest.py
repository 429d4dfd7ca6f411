"""Suite-wide settings: Qt runs offscreen, so the suite needs no display;
nothing the tests start writes to the user's real configuration or runtime
directory;
and Hypothesis draws the same examples on every run unless asked to explore."""

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_home = tempfile.mkdtemp(prefix="inspector-test-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["INSPECTOR_HOME"] = _home
# Engines' control sockets go to a runtime directory of the suite's own
# (mkdtemp makes it 0700), not the user's, where `inspector ctl` would see them.
_runtime = tempfile.mkdtemp(prefix="inspector-test-run-")
atexit.register(shutil.rmtree, _runtime, ignore_errors=True)
os.environ["XDG_RUNTIME_DIR"] = _runtime
# Credentials from the developer's shell would put every test behind 407.
os.environ.pop("INSPECTOR_AUTH", None)

# The suite runs the "ci" profile: the same examples on every run
# (derandomize, and no example database replaying old failures), so a red
# build is a regression, never an unlucky draw. Examples that talk to a
# proxy over sockets take milliseconds, so there is no per-example deadline.
# `make fuzz` runs "explore" (HYPOTHESIS_PROFILE=explore): random, ten times
# as many examples, failures kept in .hypothesis/ and printed as a blob to
# replay. A failure it finds is fixed and then kept as an @example of the
# test it broke, so the suite checks that input on every run.
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    max_examples=int(os.environ.get("INSPECTOR_FUZZ_EXAMPLES", "2000")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
