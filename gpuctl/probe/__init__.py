"""Probe: what each host has (accelerators, host facts, Docker, gpuctl's containers), over SSH.

Entry points: `gpuctl.probe.inventory.targets_for` and `probe_inventory`; snapshots in
`gpuctl.probe.snapshot`; host keys in `gpuctl.probe.known_hosts`.
"""

import logging

# paramiko logs every failed handshake with a traceback, which Python's last-resort handler would
# print; gpuctl reports each failure itself as a host status with a sentence.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
