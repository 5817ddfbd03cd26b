"""Checks across documents: names, hosts, addresses and the references between them.

A document can be valid on its own and still contradict another one: two deployments with one
name, a host defined twice, two hosts at one SSH address, a deployment that pins a host no
cluster has. These checks point at the later of two conflicting documents, naming where the
first one is.

They read the documents' plain data rather than the validated models, so that they also run on
documents with other errors: a typo elsewhere in a Cluster neither hides that two of its hosts
share an address, nor makes the deployments that use it look as if they named an unknown cluster.
Values of the wrong type or format are left out here; validation reports them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gpuctl.errors import Diagnostic, Location
from gpuctl.spec.diagnose import format_path, suggestion
from gpuctl.spec.documents import FieldPath, SourceDocument
from gpuctl.spec.models import DEVICE_REF_PATTERN, NAME_PATTERN, parse_device_ref


@dataclass
class _Host:
    name: str
    path: FieldPath
    address: str = ""
    endpoint: tuple[str, int] | None = None
    """(normalised address, effective SSH port); None when either is unreadable."""


@dataclass
class _Cluster:
    name: str | None
    doc: SourceDocument
    hosts: list[_Host] = field(default_factory=list)
    complete: bool = True
    """False when some host entry could not be read: a host missing here may be that one."""


def _where(location: Location) -> str:
    return f"{location.file}:{location.line}" if location.line else str(location.file)


def _error(doc: SourceDocument, path: FieldPath, message: str, hint: str | None, code: str) -> Diagnostic:
    return Diagnostic(message, doc.location(path), path=format_path(path), hint=hint, code=code)


def _get(data: Any, *path: str) -> Any:
    """The value at `path` in plain YAML data, or None where a step is missing or not a mapping."""
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _name(value: Any) -> str | None:
    """`value` if it is a valid object name (an invalid one is reported by validation)."""
    return value if isinstance(value, str) and re.fullmatch(NAME_PATTERN, value) else None


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def cross_check(
    documents: Sequence[tuple[str, SourceDocument]],
    unread: Sequence[str] = (),
    invalid: Sequence[SourceDocument] = (),
) -> list[Diagnostic]:
    """Every conflict between the given documents (kind, document), valid or not. `unread` are
    files that could not be read: a cluster or host not found may be defined there. Without any
    Cluster, the references of `invalid` documents are not checked: they have errors of their own,
    and one "no Cluster was loaded" per pin would bury them."""
    found = _duplicate_names(documents)
    clusters = [_cluster(doc) for kind, doc in documents if kind == "Cluster"]
    found += _duplicate_hosts(clusters)
    unchecked = set() if clusters else {id(doc) for doc in invalid}
    host_cluster = {host.name: cluster for cluster in clusters for host in cluster.hosts}
    for kind, doc in documents:
        if kind == "ModelDeployment" and id(doc) not in unchecked:
            found += _references(doc, clusters, host_cluster, unread)
    return found


def _duplicate_names(documents: Sequence[tuple[str, SourceDocument]]) -> list[Diagnostic]:
    first: dict[tuple[str, str], SourceDocument] = {}
    found = []
    for kind, doc in documents:
        name = _name(_get(doc.data, "metadata", "name"))
        if name is None:
            continue
        if (kind, name) in first:
            found.append(
                _error(
                    doc,
                    ("metadata", "name"),
                    f"{kind} {name!r} is already defined at "
                    f"{_where(first[kind, name].location(('metadata', 'name')))}",
                    f"names are unique per kind: rename one of the two {kind} documents",
                    "duplicate-name",
                )
            )
        else:
            first[kind, name] = doc
    return found


def _cluster(doc: SourceDocument) -> _Cluster:
    """The readable parts of a Cluster document: its name and its hosts' names and endpoints."""
    cluster = _Cluster(_name(_get(doc.data, "metadata", "name")), doc)
    hosts = _get(doc.data, "spec", "hosts")
    ssh_port = _get(doc.data, "spec", "ssh", "port")
    default_port = 22 if ssh_port is None else _port(ssh_port)
    if not isinstance(hosts, list):
        cluster.complete = False
        return cluster
    for index, entry in enumerate(hosts):
        name = _name(_get(entry, "name"))
        if name is None:
            cluster.complete = False
            continue
        address, port = _get(entry, "address"), _get(entry, "port")
        port = default_port if port is None else _port(port)
        host = _Host(name, ("spec", "hosts", index))
        if isinstance(address, str) and port:
            host.address, host.endpoint = address, (_normal_address(address), port)
        cluster.hosts.append(host)
    return cluster


def _normal_address(address: str) -> str:
    """One spelling per address: 2001:db8::1 and 2001:0db8:0:0::1 are one host, so are
    GPU-01.example.com and gpu-01.example.com."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address.lower().removesuffix(".")


def _endpoint(address: str, port: int) -> str:
    """`192.0.2.11:22`, `[2001:db8::1]:22`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _duplicate_hosts(clusters: Sequence[_Cluster]) -> list[Diagnostic]:
    """Host names are unique across all clusters (pins and output name hosts alone), and so is
    each SSH endpoint (address and port): two entries for one machine would be scheduled twice."""
    names: dict[str, tuple[str | None, Location]] = {}
    endpoints: dict[tuple[str, int], tuple[str, str | None, Location]] = {}
    found = []
    for cluster in clusters:
        for host in cluster.hosts:
            where = cluster.doc.location((*host.path, "name"))
            if host.name in names:
                other_cluster, other = names[host.name]
                found.append(
                    _error(
                        cluster.doc,
                        (*host.path, "name"),
                        f"host {host.name!r} is already defined in cluster {other_cluster!r} "
                        f"at {_where(other)}",
                        "host names are unique across all clusters: rename one",
                        "duplicate-host",
                    )
                )
            else:
                names[host.name] = (cluster.name, where)
            if host.endpoint is None:
                continue
            if host.endpoint in endpoints:
                other_host, other_cluster, other = endpoints[host.endpoint]
                owners = (
                    f"of clusters {other_cluster!r} and {cluster.name!r} "
                    if other_cluster != cluster.name
                    else ""
                )
                found.append(
                    _error(
                        cluster.doc,
                        (*host.path, "address"),
                        f"hosts {other_host!r} ({_where(other)}) and {host.name!r} {owners}both use "
                        f"{_endpoint(host.address, host.endpoint[1])}",
                        "each host needs its own address or SSH port; remove the duplicate entry",
                        "duplicate-address",
                    )
                )
            else:
                endpoints[host.endpoint] = (
                    host.name,
                    cluster.name,
                    cluster.doc.location((*host.path, "address")),
                )
    return found


def _references(
    doc: SourceDocument,
    clusters: Sequence[_Cluster],
    host_cluster: dict[str, _Cluster],
    unread: Sequence[str],
) -> list[Diagnostic]:
    """The cluster and the pinned hosts and devices of a deployment must exist."""
    found = []
    names = [cluster.name for cluster in clusters if cluster.name]
    elsewhere = f"; if it is defined in {', '.join(unread)}, fix that file first" if unread else ""
    no_clusters = "no Cluster document was loaded: pass the inventory too (gpuctl validate inventory/ specs/)"
    wanted = _name(_get(doc.data, "spec", "cluster"))
    if wanted and wanted not in names:
        near = suggestion(wanted, names)
        hint = (
            no_clusters
            if not clusters
            else f"did you mean {near!r}?"
            if near
            else f"clusters: {', '.join(names)}"
        )
        found.append(
            _error(
                doc,
                ("spec", "cluster"),
                f"cluster {wanted!r} is not defined",
                hint + elsewhere,
                "unknown-cluster",
            )
        )
        wanted = None
    # a host that is not found may be one of the entries of its cluster that could not be read
    uncertain = any(not cluster.complete for cluster in clusters if not wanted or cluster.name == wanted)
    for path, host, what in _pins(doc):
        owner = host_cluster.get(host)
        if owner is None and not uncertain:
            near = suggestion(host, host_cluster)
            hint = (
                no_clusters
                if not clusters
                else f"did you mean {near!r}?"
                if near
                else "pin a host defined in a Cluster"
            )
            found.append(_error(doc, path, f"{what} is not in any cluster", hint + elsewhere, "unknown-host"))
        elif owner is not None and owner.name and wanted and owner.name != wanted:
            found.append(
                _error(
                    doc,
                    path,
                    f"{what} belongs to cluster {owner.name!r}, not to {wanted!r}",
                    "pin hosts of the deployment's cluster",
                    "unknown-host",
                )
            )
    return found


def _pins(doc: SourceDocument) -> list[tuple[FieldPath, str, str]]:
    """(path, host, how to name it) of each well-formed host and device pin of a deployment."""
    hosts = _get(doc.data, "spec", "placement", "hosts")
    devices = _get(doc.data, "spec", "placement", "devices")
    pins: list[tuple[FieldPath, str, str]] = []
    for index, host in enumerate(hosts if isinstance(hosts, list) else []):
        if _name(host):
            pins.append((("spec", "placement", "hosts", index), host, f"host {host!r}"))
    for index, device in enumerate(devices if isinstance(devices, list) else []):
        if isinstance(device, str) and re.fullmatch(DEVICE_REF_PATTERN, device):
            host = parse_device_ref(device)[0]
            pins.append((("spec", "placement", "devices", index), host, f"device {device!r}: host {host!r}"))
    return pins
