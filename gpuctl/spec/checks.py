"""Checks across documents: names, hosts, addresses and the references between them.

A document can be valid on its own and still contradict another one: two deployments with one
name, a host defined twice, two hosts at one SSH address, a deployment that pins a host no
cluster has. These checks run on documents that passed validation and point at the later of
two conflicting documents, naming where the first one is.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpuctl.errors import Diagnostic, Location
from gpuctl.spec.diagnose import format_path, suggestion
from gpuctl.spec.documents import FieldPath, SourceDocument
from gpuctl.spec.models import Cluster, Document, ModelDeployment, parse_device_ref


def _where(location: Location) -> str:
    return f"{location.file}:{location.line}" if location.line else str(location.file)


def _error(doc: SourceDocument, path: FieldPath, message: str, hint: str | None, code: str) -> Diagnostic:
    return Diagnostic(message, doc.location(path), path=format_path(path), hint=hint, code=code)


def cross_check(documents: Sequence[tuple[Document, SourceDocument]]) -> list[Diagnostic]:
    """Every conflict between the given (validated) documents."""
    found = _duplicate_names(documents)
    clusters = [(model, doc) for model, doc in documents if isinstance(model, Cluster)]
    found += _duplicate_hosts(clusters)
    host_cluster = {
        host.name: cluster.metadata.name for cluster, _ in clusters for host in cluster.spec.hosts
    }
    cluster_names = [cluster.metadata.name for cluster, _ in clusters]
    for model, doc in documents:
        if isinstance(model, ModelDeployment):
            found += _references(model, doc, cluster_names, host_cluster)
    return found


def _duplicate_names(documents: Sequence[tuple[Document, SourceDocument]]) -> list[Diagnostic]:
    first: dict[tuple[str, str], SourceDocument] = {}
    found = []
    for model, doc in documents:
        key = (model.kind, model.metadata.name)
        if key in first:
            found.append(
                _error(
                    doc,
                    ("metadata", "name"),
                    f"{model.kind} {model.metadata.name!r} is already defined at "
                    f"{_where(first[key].location(('metadata', 'name')))}",
                    f"names are unique per kind: rename one of the two {model.kind} documents",
                    "duplicate-name",
                )
            )
        else:
            first[key] = doc
    return found


def _duplicate_hosts(clusters: Sequence[tuple[Cluster, SourceDocument]]) -> list[Diagnostic]:
    """Host names are unique across all clusters (pins and output name hosts alone), and so is
    each SSH endpoint (address and port): two entries for one machine would be scheduled twice."""
    names: dict[str, tuple[str, Location]] = {}
    endpoints: dict[tuple[str, int], tuple[str, Location]] = {}
    found = []
    for cluster, doc in clusters:
        for index, host in enumerate(cluster.spec.hosts):
            path: FieldPath = ("spec", "hosts", index)
            owner = cluster.metadata.name
            if host.name in names:
                other_cluster, where = names[host.name]
                found.append(
                    _error(
                        doc,
                        (*path, "name"),
                        f"host {host.name!r} is already defined in cluster {other_cluster!r} "
                        f"at {_where(where)}",
                        "host names are unique across all clusters: rename one",
                        "duplicate-host",
                    )
                )
            else:
                names[host.name] = (owner, doc.location((*path, "name")))
            endpoint = (host.address.lower(), host.port or cluster.spec.ssh.port)
            if endpoint in endpoints:
                other, where = endpoints[endpoint]
                found.append(
                    _error(
                        doc,
                        (*path, "address"),
                        f"hosts {other!r} ({_where(where)}) and {host.name!r} both use "
                        f"{host.address}:{endpoint[1]}",
                        "each host needs its own address or SSH port; remove the duplicate entry",
                        "duplicate-address",
                    )
                )
            else:
                endpoints[endpoint] = (host.name, doc.location((*path, "address")))
    return found


def _references(
    deployment: ModelDeployment, doc: SourceDocument, clusters: list[str], host_cluster: dict[str, str]
) -> list[Diagnostic]:
    """The cluster and the pinned hosts and devices of a deployment must exist."""
    found = []
    wanted = deployment.spec.cluster
    no_clusters = "no Cluster document was loaded: pass the inventory too (gpuctl validate inventory/ specs/)"
    if wanted and wanted not in clusters:
        near = suggestion(wanted, clusters)
        hint = (
            no_clusters
            if not clusters
            else f"did you mean {near!r}?"
            if near
            else f"clusters: {', '.join(clusters)}"
        )
        found.append(
            _error(doc, ("spec", "cluster"), f"cluster {wanted!r} is not defined", hint, "unknown-cluster")
        )
        wanted = None
    placement = deployment.spec.placement
    pins: list[tuple[FieldPath, str, str]] = [
        (("spec", "placement", "hosts", index), host, f"host {host!r}")
        for index, host in enumerate(placement.hosts)
    ]
    pins += [
        (
            ("spec", "placement", "devices", index),
            parse_device_ref(device)[0],
            f"device {device!r}: host {parse_device_ref(device)[0]!r}",
        )
        for index, device in enumerate(placement.devices)
    ]
    for path, host, what in pins:
        owner = host_cluster.get(host)
        if owner is None:
            near = suggestion(host, host_cluster)
            hint = (
                no_clusters
                if not clusters
                else f"did you mean {near!r}?"
                if near
                else "pin a host defined in a Cluster"
            )
            found.append(_error(doc, path, f"{what} is not in any cluster", hint, "unknown-host"))
        elif wanted and owner != wanted:
            found.append(
                _error(
                    doc,
                    path,
                    f"{what} belongs to cluster {owner!r}, not to {wanted!r}",
                    "pin hosts of the deployment's cluster",
                    "unknown-host",
                )
            )
    return found
