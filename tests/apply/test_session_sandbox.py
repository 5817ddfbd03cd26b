"""The apply session against a sandbox host: a command with no time limit (an image pull, a model
download) must still end, as "connection broke", when its host's link goes down.

The session patches the standard library with gevent, so it runs in a separate process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

SESSION = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from gpuctl.apply.session import patch_gevent
    patch_gevent()
    from gpuctl.apply.session import Session
    from gpuctl.probe.inventory import targets_for
    from gpuctl.spec.loader import load_specs

    inventory, host = Path(sys.argv[1]), sys.argv[2]
    cluster = load_specs([inventory]).clusters[0]
    session = Session([t for t in targets_for(cluster) if t.host == host])
    session.connect()
    print("connected", flush=True)
    begin = time.monotonic()
    out = session.run(host, "sleep 120", timeout=None)
    after = session.run(host, "true")
    print(json.dumps({"seconds": time.monotonic() - begin, "error": out.error, "after": after.error}))
    session.close()
    """
)


def test_an_unbounded_command_ends_when_its_host_link_goes_down(fleet) -> None:
    fleet.use("cpu")
    host = fleet.host("cpu")
    running = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(fleet.inventory), host],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fleet.env,
    )
    try:
        assert running.stdout is not None
        assert running.stdout.readline().strip() == "connected", running.stderr
        time.sleep(1)  # the command is running
        fleet.sandbox.fault(host, "link-down")
        stdout, stderr = running.communicate(timeout=90)
    finally:
        running.kill()
    assert running.returncode == 0, stderr
    result = json.loads(stdout)
    # keepalive every 5 s, dead after 30 s unacknowledged (twice the fleet's connect timeout):
    # well before `sleep 120` would end
    assert result["seconds"] < 60, result
    assert result["error"].startswith(f"the connection to {host} broke"), result
    assert result["after"] == result["error"], "a lost host's later commands fail at once"
