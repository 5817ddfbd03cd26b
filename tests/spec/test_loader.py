"""The loader's public API (load_specs, read_specs, Specs) on spec trees written in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.spec import documents
from gpuctl.spec.documents import MAX_FILE_BYTES, parse_text
from gpuctl.spec.loader import load_specs, read_specs

CLUSTER = """\
apiVersion: gpuctl.dev/v1alpha1
kind: Cluster
metadata:
  name: {name}
spec:
  ssh:
    identityFile: keys/id_ed25519
    knownHostsFile: /etc/gpuctl/known_hosts
  hosts:
    - name: {host}
      address: {address}
"""

DEPLOYMENT = """\
apiVersion: gpuctl.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: {name}
spec:
  model:
    huggingface: Qwen/Qwen3-8B
  placement:
    devices: [gpu-01:0]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """inventory/ with one cluster, specs/ with two deployments in one file (one .yml)."""
    write(
        tmp_path / "inventory" / "lab.yaml", CLUSTER.format(name="lab", host="gpu-01", address="192.0.2.11")
    )
    write(
        tmp_path / "specs" / "team" / "models.yml",
        DEPLOYMENT.format(name="qwen3-8b") + "---\n" + DEPLOYMENT.format(name="qwen3-8b-2"),
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_paths_load_clusters_and_deployments(tree: Path) -> None:
    specs = load_specs()
    assert [cluster.metadata.name for cluster in specs.clusters] == ["lab"]
    assert [deployment.metadata.name for deployment in specs.deployments] == ["qwen3-8b", "qwen3-8b-2"]


def test_locations_point_into_the_source_file(tree: Path) -> None:
    specs = load_specs(["inventory", "specs"])
    second = specs.deployments[1]
    assert str(specs.location(second)) == "specs/team/models.yml:11:1"
    assert str(specs.location(second, "spec.placement.devices[0]")) == "specs/team/models.yml:19:15"
    assert str(specs.location(second, "spec.placement.devices.0")) == "specs/team/models.yml:19:15"
    # A field the spec leaves out points at its nearest written ancestor.
    assert str(specs.location(second, "spec.placement.strategy")) == "specs/team/models.yml:18:3"


def test_relative_key_files_are_resolved_against_the_spec_file(tree: Path) -> None:
    ssh = load_specs().clusters[0].spec.ssh
    assert ssh.identity_file == str(tree / "inventory" / "keys" / "id_ed25519")
    assert ssh.known_hosts_file == "/etc/gpuctl/known_hosts"


def test_cluster_binding(tree: Path) -> None:
    specs = load_specs()
    assert specs.cluster_of(specs.deployments[0]).metadata.name == "lab"
    assert specs.host("gpu-01") == (specs.clusters[0], specs.clusters[0].spec.hosts[0])
    assert specs.host("gpu-99") is None

    write(tree / "inventory" / "prod.yaml", CLUSTER.format(name="prod", host="gpu-11", address="192.0.2.21"))
    specs = load_specs()  # several clusters and a deployment that names none: valid, binding is plan's
    with pytest.raises(GpuctlError) as raised:
        specs.cluster_of(specs.deployments[0])
    (diagnostic,) = raised.value.diagnostics
    assert str(diagnostic) == (
        "specs/team/models.yml:5:1: error: spec.cluster: 2 clusters are loaded (lab, prod) and the "
        "deployment names none (set spec.cluster)"
    )


def test_load_specs_raises_every_diagnostic_at_once(tree: Path) -> None:
    write(tree / "specs" / "broken.yaml", DEPLOYMENT.format(name="Bad_Name").replace("huggingface", "hf"))
    with pytest.raises(GpuctlError) as raised:
        load_specs()
    assert [str(d) for d in raised.value.diagnostics] == [
        "specs/broken.yaml:4:9: error: metadata.name: 'Bad_Name' is not a DNS-1123 name: lower-case "
        "letters, digits and '-', starting and ending with a letter or digit, at most 63 characters "
        "(for example: bad-name)",
        "specs/broken.yaml:7:5: error: spec.model.hf: unknown field 'hf' (allowed here: huggingface, "
        "modelscope, local, revision, file)",
    ]


def test_files_that_are_not_gpuctl_specs_are_skipped_with_a_warning(tree: Path) -> None:
    write(tree / "specs" / "compose.yaml", "services:\n  web: {image: nginx}\n")
    write(tree / "specs" / ".hidden" / "broken.yaml", "not: [valid\n")
    write(tree / "specs" / "notes.txt", "not yaml at all: [\n")
    result = read_specs()
    assert result.ok
    assert [str(d) for d in result.diagnostics] == [
        "specs/compose.yaml:1:1: warning: no gpuctl documents in this file (none has apiVersion: "
        "gpuctl.dev/v1alpha1); it was skipped (move it out of the spec directories to silence this warning)"
    ]
    assert result.specs.warnings == result.diagnostics
    assert (result.files, result.documents) == (3, 3)


def test_a_file_given_twice_is_read_once(tree: Path) -> None:
    result = read_specs(["specs", "specs/team/models.yml", "inventory"])
    assert result.ok, result.diagnostics
    assert (result.files, result.documents) == (2, 3)


def test_missing_paths_and_empty_trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (message,) = [str(d) for d in read_specs().diagnostics]
    assert message.startswith("error: no inventory/ or specs/ directory in ")
    assert [str(d) for d in read_specs(["nowhere.yaml"]).diagnostics] == [
        "nowhere.yaml: error: no such file or directory (check the path; given no paths, gpuctl reads "
        "inventory/ and specs/ in the current directory)"
    ]
    write(tmp_path / "specs" / "compose.yaml", "services: {}\n")
    messages = [str(d) for d in read_specs().diagnostics]
    assert messages[-1] == (
        "error: no gpuctl documents found in inventory, specs (write a Cluster (inventory/) and "
        "ModelDeployments (specs/); see README.md)"
    )


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)
    assert [str(d) for d in read_specs([huge]).diagnostics] == [
        f"{huge}:1:1: error: the file is 8.0 MiB; spec files are limited to 8 MiB "
        "(split it into several files)"
    ]


def test_links_and_special_files_in_a_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link loop (a crash), a named pipe (a hang) and a broken link each get a message; a linked
    directory is read, once, even when a link leads back up the tree."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "shared" / "lab.yaml", CLUSTER.format(name="lab", host="gpu-01", address="192.0.2.11"))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "shared").symlink_to("../shared")
    (tmp_path / "specs" / "up").symlink_to("..")
    (tmp_path / "specs" / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "specs" / "gone.yaml").symlink_to("nowhere.yaml")
    os.mkfifo(tmp_path / "specs" / "pipe.yaml")
    result = read_specs(["specs"])
    assert [str(d) for d in result.diagnostics] == [
        "specs/gone.yaml: error: a broken symbolic link: it points to nowhere.yaml, which does not exist "
        "(fix or remove it)",
        "specs/loop.yaml: error: a symbolic link loop: it leads back to itself (fix or remove it)",
        "specs/pipe.yaml: warning: not a regular file (a named pipe, socket or device); it was skipped "
        "(keep only spec files in the spec directories)",
    ]
    assert [cluster.metadata.name for cluster in result.specs.clusters] == ["lab"]
    assert [str(d) for d in read_specs(["specs/loop.yaml"]).diagnostics] == [
        "specs/loop.yaml: error: a symbolic link loop: it leads back to itself (fix or remove it)"
    ]


def test_a_document_with_too_many_values_is_not_called_an_alias_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_NODES", 10)
    (big,) = parse_text("hosts: [a, b, c, d, e, f, g, h, i, j, k]\n", "big.yaml").diagnostics
    assert (big.code, big.message) == (
        "yaml-too-large",
        "this document holds more than 10 values, more than a spec may have",
    )
    (bomb,) = parse_text("a: &a [x, x, x]\nb: &b [*a, *a, *a]\n", "bomb.yaml").diagnostics
    assert bomb.code == "yaml-alias-bomb"


UNUSUAL = """\
%YAML 1.1
---
# a comment before the document
apiVersion: gpuctl.dev/v1alpha1
kind: Cluster
metadata: {name: lab}
spec:
  ssh: {port: 22, commandTimeout: 120.5}
  hosts:
    - &host {name: gpu-01, address: 192.0.2.11, labels: &labels {zone: "1", gpu: h100}}
    - <<: *host
      name: gpu-02
      address: gpu-02.example.com.
    - name: gpu-03
      address: "2001:db8::3"
      labels: {<<: *labels, zone: b}
...
---
apiVersion: gpuctl.dev/v1alpha1
kind: ModelDeployment
metadata: {name: qwen3-8b-gguf}
spec:
  cluster: lab
  model: {huggingface: Qwen/Qwen3-8B-GGUF, revision: 2024-01-01, file: "*Q4_K_M*.gguf"}
  servedName: "123"
  backendVersion: "0.11"
  replicas: 0
  placement: {hosts: [gpu-01], devices: ["gpu-01:0/1", "gpu-01:1"], selector: {arch: arm64}}
  parameters: ["--max-model-len", "32768", "--api-key-file=/run/key", "--max-tokens=8"]
  env: {HF_HUB_OFFLINE: "1", TOKENIZERS_PARALLELISM: "false", HF_TOKEN_PATH: /run/token, EMPTY: ""}
  secrets: {HF_TOKEN: {fromEnv: MY_HF_TOKEN}}
"""


@pytest.mark.parametrize("encoding", ["plain", "bom", "crlf"])
def test_valid_but_unusual_specs_are_accepted(tmp_path: Path, encoding: str) -> None:
    """Merge keys, anchors, directives, a fully qualified host name, IPv6, MIG pins, quoted
    numbers, switch-like env values: none is an error (false alarms are bugs too)."""
    text = UNUSUAL.replace("\n", "\r\n") if encoding == "crlf" else UNUSUAL
    raw = ("\ufeff" if encoding == "bom" else "") + text
    path = tmp_path / "unusual.yaml"
    path.write_bytes(raw.encode("utf-8"))
    result = read_specs([path])
    assert result.diagnostics == ()
    (cluster,) = result.specs.clusters
    assert [host.labels for host in cluster.spec.hosts] == [
        {"zone": "1", "gpu": "h100"},
        {"zone": "1", "gpu": "h100"},
        {"zone": "b", "gpu": "h100"},
    ]


def test_merge_keys_and_aliases_keep_the_anchor_position() -> None:
    text = "defaults: &d {zone: a, gpu: h100}\nhost:\n  <<: *d\n  gpu: l40s\n"
    (doc,) = parse_text(text, "t.yaml").documents
    assert doc.data["host"] == {"zone": "a", "gpu": "l40s"}
    assert str(doc.location(("host", "zone"))) == "t.yaml:1:21"
    assert str(doc.location(("host", "gpu"))) == "t.yaml:4:8"
    assert doc.problems == []


def test_deep_nesting_is_a_diagnostic() -> None:
    source = parse_text("a: " + "[" * 2000 + "]" * 2000 + "\n", "deep.yaml")
    assert source.documents == []
    (diagnostic,) = source.diagnostics
    assert diagnostic.code in ("yaml-syntax", "yaml-too-deep")
    assert diagnostic.location.file == "deep.yaml"
