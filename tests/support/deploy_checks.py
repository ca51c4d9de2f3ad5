"""Consistency rules for the deployment files (deploy/): each returns the problems it found, so a test can assert
that the checked-in files have none and that a broken copy has some.

Manifests are plain dicts as PyYAML loads them; `Doc` keeps the file each came from for the messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

NAMESPACE = "tthc"
REGISTRY = "registry.example.gov.vn/tthc/"
# Secrets made outside the templates, by name: the TLS certificate (cert-manager or `kubectl create secret tls`)
EXTERNAL_SECRETS = {"tthc-tls"}
# Rasa paths the Internet may reach (docs/channels.md "Which paths to expose publicly")
PUBLIC_PATHS = {"/webhooks/telegram/webhook", "/webhooks/zalo/webhook"}
# ... and the ward's network: the kiosk page and messages, the registry change events
WARD_PATHS = {"/webhooks/kiosk/", "/webhooks/registry/events"}
WATCHER_ENV = "BOT_SUBSCRIPTIONS_WATCHER"


@dataclass
class Doc:
    path: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name"))

    def __str__(self) -> str:
        return f"{self.path.name}: {self.kind}/{self.name}"


def load_docs(paths: Iterable[Path]) -> list[Doc]:
    docs = []
    for path in paths:
        for data in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if data:
                docs.append(Doc(path, data))
    return docs


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.kind == kind]


def find(docs: list[Doc], kind: str, name: str) -> Doc | None:
    return next((doc for doc in docs if doc.kind == kind and doc.name == name), None)


def pod_spec(doc: Doc) -> dict[str, Any]:
    return doc.data["spec"]["template"]["spec"]


def containers(doc: Doc) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def pod_labels(doc: Doc) -> dict[str, str]:
    return doc.data["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def container_ports(doc: Doc) -> set[int | str]:
    ports: set[int | str] = set()
    for container in containers(doc):
        for port in container.get("ports", []):
            ports.add(port["containerPort"])
            if "name" in port:
                ports.add(port["name"])
    return ports


# ----- the rules ----------------------------------------------------------------------------------------------------
def schema_problems(docs: list[Doc], validate: Any, version: str) -> list[str]:
    """Each manifest against the Kubernetes `version` schemas, strict (unknown fields are errors)."""
    problems = []
    for doc in docs:
        try:
            validate(doc.data, version, strict=True)
        except Exception as exc:  # kubernetes_validate's ValidationError / SchemaNotFoundError: message is enough
            problems.append(f"{doc}: {str(exc).splitlines()[0]}")
    return problems


def workload_problems(docs: list[Doc]) -> list[str]:
    """Every Deployment: probes on a declared port, requests and limits, non-root, no privilege escalation."""
    problems = []
    for doc in of_kind(docs, "Deployment"):
        ports = container_ports(doc)
        security = pod_spec(doc).get("securityContext", {})
        if security.get("runAsNonRoot") is not True:
            problems.append(f"{doc}: pod securityContext.runAsNonRoot is not true")
        for container in containers(doc):
            where = f"{doc} container {container['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                spec = container.get(probe)
                if not spec:
                    problems.append(f"{where}: no {probe}")
                    continue
                port = (spec.get("httpGet") or spec.get("tcpSocket") or {}).get("port")
                if port not in ports:
                    problems.append(f"{where}: {probe} port {port!r} is not a declared container port")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(f"{where}: no resources.{part}.{resource}")
            if (container.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
    return problems


def _data_keys(doc: Doc) -> set[str]:
    return set(doc.data.get("data") or {}) | set(doc.data.get("stringData") or {})


def _references(doc: Doc) -> Iterator[tuple[str, str, str | None, str]]:
    """(kind, name, key or None, where) of every ConfigMap / Secret a workload or an Ingress refers to."""
    if doc.kind == "Ingress":
        for tls in doc.data["spec"].get("tls", []):
            yield "Secret", tls["secretName"], None, f"{doc} tls"
        return
    if doc.kind != "Deployment":
        return
    for container in containers(doc):
        where = f"{doc} container {container['name']}"
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                yield "Secret", source["secretRef"]["name"], None, where
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"], None, where
        for env in container.get("env", []):
            ref = env.get("valueFrom") or {}
            if "secretKeyRef" in ref:
                yield "Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"], where
            if "configMapKeyRef" in ref:
                yield "ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"], where
    for volume in pod_spec(doc).get("volumes", []):
        for kind, field, name_field in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            if field in volume:
                source = volume[field]
                items = source.get("items") or [{"key": None}]
                for item in items:
                    yield kind, source[name_field], item["key"], f"{doc} volume {volume['name']}"


def reference_problems(docs: list[Doc]) -> list[str]:
    """Every ConfigMap / Secret referenced exists (in deploy/k8s, the templates included), with the keys used."""
    problems = []
    for doc in docs:
        for kind, name, key, where in _references(doc):
            if kind == "Secret" and name in EXTERNAL_SECRETS:
                continue
            target = find(docs, kind, name)
            if target is None:
                problems.append(f"{where}: {kind} {name} does not exist")
            elif key is not None and key not in _data_keys(target):
                problems.append(f"{where}: {kind} {name} has no key {key}")
    return problems


def service_problems(docs: list[Doc]) -> list[str]:
    """Services select a Deployment and target its ports; Ingresses, HPAs, PDBs and policies point at real things."""
    problems = []
    deployments = of_kind(docs, "Deployment")
    for service in of_kind(docs, "Service"):
        spec = service.data["spec"]
        if spec.get("type") == "ExternalName" or "selector" not in spec:
            continue  # outside services: PostgreSQL by name, Redis by EndpointSlice
        targets = [d for d in deployments if selects(spec["selector"], pod_labels(d))]
        if not targets:
            problems.append(f"{service}: selector {spec['selector']} matches no Deployment")
        for port in spec.get("ports", []):
            target_port = port.get("targetPort", port["port"])
            for deployment in targets:
                if target_port not in container_ports(deployment):
                    problems.append(f"{service}: targetPort {target_port!r} is not a port of {deployment}")
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress.data["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = find(docs, "Service", backend["name"])
                if service is None:
                    problems.append(f"{ingress}: backend Service {backend['name']} does not exist")
                    continue
                wanted = backend["port"].get("number", backend["port"].get("name"))
                offered = {p["port"] for p in service.data["spec"].get("ports", [])}
                offered |= {p["name"] for p in service.data["spec"].get("ports", []) if "name" in p}
                if wanted not in offered:
                    problems.append(f"{ingress}: {backend['name']} has no port {wanted!r}")
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa.data["spec"]["scaleTargetRef"]
        if find(docs, ref["kind"], ref["name"]) is None:
            problems.append(f"{hpa}: scale target {ref['kind']}/{ref['name']} does not exist")
    for kind, field in (("PodDisruptionBudget", "selector"), ("NetworkPolicy", "podSelector")):
        for doc in of_kind(docs, kind):
            labels = doc.data["spec"][field].get("matchLabels", {})
            if not any(selects(labels, pod_labels(d)) for d in deployments):
                problems.append(f"{doc}: {field} {labels} matches no Deployment")
    return problems


def namespace_problems(docs: list[Doc]) -> list[str]:
    problems = []
    if find(docs, "Namespace", NAMESPACE) is None:
        problems.append(f"no Namespace {NAMESPACE}")
    for doc in docs:
        if doc.kind != "Namespace" and doc.data.get("metadata", {}).get("namespace") != NAMESPACE:
            problems.append(f"{doc}: not in namespace {NAMESPACE}")
    return problems


def ingress_problems(docs: list[Doc]) -> list[str]:
    """Only the public webhook paths reach Rasa from the Internet; the ward's ingress carries a source allow-list."""
    problems = []
    for ingress in of_kind(docs, "Ingress"):
        public = "whitelist-source-range" not in str(ingress.data["metadata"].get("annotations", {}))
        allowed = PUBLIC_PATHS if public else PUBLIC_PATHS | WARD_PATHS
        for rule in ingress.data["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                if path["backend"]["service"]["name"] != "tthc-rasa":
                    if public:
                        problems.append(f"{ingress}: {path['path']} leads to {path['backend']['service']['name']} "
                                        "from the Internet")
                    continue
                if path["path"] not in allowed:
                    problems.append(f"{ingress}: Rasa path {path['path']} must not be exposed "
                                    f"({'Internet' if public else 'ward network'})")
                elif path["path"] in PUBLIC_PATHS | {"/webhooks/registry/events"} and path["pathType"] != "Exact":
                    problems.append(f"{ingress}: {path['path']} must be an Exact path")
    return problems


def secret_template_problems(docs: list[Doc]) -> list[str]:
    """The committed Secrets are templates: every value empty."""
    return [
        f"{doc}: {key} has a value in a committed file"
        for doc in of_kind(docs, "Secret")
        for key, value in {**(doc.data.get("data") or {}), **(doc.data.get("stringData") or {})}.items()
        if value not in ("", None)
    ]


def watcher_count(docs: list[Doc]) -> int:
    """Replicas that run the dossier watcher: action servers without BOT_SUBSCRIPTIONS_WATCHER=off."""
    count = 0
    for doc in of_kind(docs, "Deployment"):
        for container in containers(doc):
            if container.get("args"):
                continue  # another command than the image's action server (the console)
            if "tthc-app" not in container["image"]:
                continue
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if str(env.get(WATCHER_ENV, "")).lower() not in {"off", "false", "0", "no"}:
                count += int(doc.data["spec"].get("replicas", 1))
    return count


def env_placeholders(text: str) -> set[str]:
    """The ${VAR} names Rasa expands in an endpoints file (comments ignored)."""
    names: set[str] = set()
    for line in text.splitlines():
        names.update(re.findall(r"\$\{([A-Z0-9_]+)\}", line.split("#", 1)[0]))
    return names


def env_file_keys(path: Path) -> set[str]:
    return {
        line.split("=", 1)[0].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
