"""The deployment files (deploy/): Kubernetes manifests against the schemas of a pinned Kubernetes version (strict,
offline: kubernetes-validate bundles them), and the rules that tie manifests, Dockerfiles, docker-compose, HAProxy,
the ConfigMap and the code together. Nothing is built or applied: a Docker daemon or a cluster is not needed.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.deploy_config import SOURCES, render_configmap, synced_configmap
from bot.settings import PROJECT_ROOT
from tests.support import deploy_checks as checks
from tests.support.requirements import missing

K8S_VERSION = "1.34.0"  # the oldest Kubernetes these manifests are written for (HPA v2, EndpointSlice v1)
DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml")) + [K8S / "secrets.yaml.template"]
CONFIGMAP = K8S / "10-configmap.yaml"
COMPOSE = DEPLOY / "docker-compose.yml"
HAPROXY = DEPLOY / "compose" / "haproxy.cfg"
DOCKERFILES = {"tthc-rasa": DEPLOY / "docker" / "rasa.Dockerfile", "tthc-app": DEPLOY / "docker" / "app.Dockerfile"}
PYTHON_OF_IMAGE = {"tthc-rasa": "3.10", "tthc-app": "3.11"}  # .venv-rasa / .venv (scripts/setup_envs.sh)
# Files the images COPY that are built, not committed: the trained model (`make train`)
BUILD_ARTIFACTS = {"models/tthc.tar.gz"}
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|SALT|_KEY\b|DATABASE_URL", re.IGNORECASE)
COMPOSE_ONLY_KEYS = {"POSTGRES_USER", "POSTGRES_PASSWORD"}  # the compose PostgreSQL container's own


@pytest.fixture(scope="module")
def validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        missing("kubernetes-validate is not installed (requirements/app.txt)")
    return kubernetes_validate.validate


@pytest.fixture(scope="module")
def docs() -> list[checks.Doc]:
    return checks.load_docs(MANIFESTS)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfiles() -> dict[str, list[dict[str, Any]]]:
    try:
        from dockerfile_parse import DockerfileParser
    except ImportError:
        missing("dockerfile-parse is not installed (requirements/app.txt)")
    return {image: DockerfileParser(path=str(path)).structure for image, path in DOCKERFILES.items()}


def _instructions(structure: list[dict[str, Any]], name: str) -> list[str]:
    return [item["value"] for item in structure if item["instruction"] == name]


def _exec_form(value: str) -> list[str]:
    return json.loads(value) if value.lstrip().startswith("[") else shlex.split(value)


def _version() -> str:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _tracked_files() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.splitlines())


# ----- Kubernetes -----------------------------------------------------------------------------------------------------
def test_every_manifest_file_holds_documents(docs: list[checks.Doc]) -> None:
    assert {doc.path for doc in docs} == set(MANIFESTS)
    kinds = {doc.kind for doc in docs}
    for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler"):
        assert kind in kinds, f"no {kind} in deploy/k8s"


def test_manifests_match_the_kubernetes_schemas_strictly(docs: list[checks.Doc], validate: Any) -> None:
    assert checks.schema_problems(docs, validate, K8S_VERSION) == []


def test_workloads_have_probes_resources_and_run_unprivileged(docs: list[checks.Doc]) -> None:
    assert checks.workload_problems(docs) == []
    probes = {
        doc.name: {c["readinessProbe"]["httpGet"]["path"] for c in checks.containers(doc)}
        for doc in checks.of_kind(docs, "Deployment")
    }
    assert probes["tthc-rasa"] == {"/"}  # Rasa's root answers once the model is loaded, without the API token
    assert probes["tthc-actions"] == probes["tthc-watcher"] == probes["tthc-console"] == {"/health"}


def test_every_referenced_configmap_and_secret_exists(docs: list[checks.Doc]) -> None:
    assert checks.reference_problems(docs) == []


def test_services_ingresses_autoscalers_point_at_real_ports_and_workloads(docs: list[checks.Doc]) -> None:
    assert checks.service_problems(docs) == []
    scaled = {doc.data["spec"]["scaleTargetRef"]["name"] for doc in checks.of_kind(docs, "HorizontalPodAutoscaler")}
    assert scaled == {"tthc-rasa", "tthc-actions"}


def test_everything_in_one_namespace(docs: list[checks.Doc]) -> None:
    assert checks.namespace_problems(docs) == []


def test_only_the_public_webhooks_are_exposed_to_the_internet(docs: list[checks.Doc]) -> None:
    assert checks.ingress_problems(docs) == []
    public = checks.find(docs, "Ingress", "tthc-public")
    assert public is not None
    paths = {p["path"] for rule in public.data["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths == checks.PUBLIC_PATHS


def test_postgres_and_redis_are_external_services(docs: list[checks.Doc]) -> None:
    postgres = checks.find(docs, "Service", "tthc-postgres")
    redis = checks.find(docs, "Service", "tthc-redis")
    assert postgres is not None and postgres.data["spec"]["type"] == "ExternalName"
    assert redis is not None and "selector" not in redis.data["spec"]
    slices = [d for d in checks.of_kind(docs, "EndpointSlice")
              if d.data["metadata"]["labels"].get("kubernetes.io/service-name") == "tthc-redis"]
    assert slices and slices[0].data["ports"][0]["port"] == redis.data["spec"]["ports"][0]["port"]


def test_secret_templates_hold_no_value(docs: list[checks.Doc]) -> None:
    assert checks.secret_template_problems(docs) == []


def test_secret_keys_match_the_compose_env_example(docs: list[checks.Doc]) -> None:
    keys = set()
    for doc in checks.of_kind(docs, "Secret"):
        keys |= set(doc.data.get("stringData") or {})
    assert keys == checks.env_file_keys(DEPLOY / "tthc.env.example") - COMPOSE_ONLY_KEYS
    for name in ("BOT_PRIVACY_SALT", "RASA_AUTH_TOKEN", "BOT_REST_TOKEN", "DATABASE_URL", "BOT_SUBSCRIPTIONS_KEY",
                 "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "ZALO_ACCESS_TOKEN"):
        assert name in keys


def test_every_pod_runs_the_production_profile_with_the_configmap_settings(docs: list[checks.Doc]) -> None:
    for doc in checks.of_kind(docs, "Deployment"):
        for container in checks.containers(doc):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("BOT_PROFILE") == "production", f"{doc}: BOT_PROFILE"
            mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "config")
            assert env.get("BOT_SETTINGS") == f"{mount}/settings.yml", f"{doc}: BOT_SETTINGS"


def test_rasa_pods_get_every_variable_the_cluster_endpoints_expand(docs: list[checks.Doc]) -> None:
    needed = checks.env_placeholders(SOURCES["endpoints.yml"].read_text(encoding="utf-8"))
    assert needed, "the cluster endpoints expand no variable"
    rasa = checks.find(docs, "Deployment", "tthc-rasa")
    assert rasa is not None
    (container,) = checks.containers(rasa)
    given = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        secret = checks.find(docs, "Secret", source["secretRef"]["name"])
        given |= set(secret.data.get("stringData") or {}) if secret else set()
    assert needed <= given, f"Rasa would refuse its endpoints: {sorted(needed - given)} not set"
    actions_url = next(e["value"] for e in container["env"] if e["name"] == "ACTIONS_URL")
    service = checks.find(docs, "Service", "tthc-actions")
    assert service is not None
    assert actions_url == f"http://tthc-actions:{service.data['spec']['ports'][0]['port']}/webhook"


def test_exactly_one_dossier_watcher_runs(docs: list[checks.Doc], compose: dict[str, Any]) -> None:
    assert checks.watcher_count(docs) == 1
    watcher = checks.find(docs, "Deployment", "tthc-watcher")
    assert watcher is not None and watcher.data["spec"]["strategy"]["type"] == "Recreate"
    running = [name for name, service in compose["services"].items()
               if "tthc-app" in service.get("image", "") and "command" not in service
               and str(service.get("environment", {}).get(checks.WATCHER_ENV, "")).lower() != "off"]
    assert running == ["actions-1"]


# ----- the ConfigMap is the repository's settings.yml -------------------------------------------------------------
def test_configmap_is_in_sync_with_settings_and_cluster_endpoints() -> None:
    text = CONFIGMAP.read_text(encoding="utf-8")
    assert synced_configmap(text) == text, "run `python -m bot deploy sync-config`"
    data = yaml.safe_load(text)["data"]
    for key, source in SOURCES.items():
        assert yaml.safe_load(data[key]) == yaml.safe_load(source.read_text(encoding="utf-8")), key


def test_sync_config_rewrites_a_stale_copy_and_keeps_the_rest(tmp_path: Path) -> None:
    stale = CONFIGMAP.read_text(encoding="utf-8").replace("dense_weight: 0.0", "dense_weight: 0.9")
    assert stale != CONFIGMAP.read_text(encoding="utf-8")
    synced = synced_configmap(stale)
    assert synced == CONFIGMAP.read_text(encoding="utf-8")
    other = render_configmap("data:\n  a.yml: |\n    x: 1\n  settings.yml: |\n    old: 1\n\n  z.yml: |\n    z: 2\n",
                             "settings.yml", "new: 2\n\nmore: 3\n")
    assert yaml.safe_load(other)["data"] == {
        "a.yml": "x: 1\n", "settings.yml": "new: 2\n\nmore: 3\n", "z.yml": "z: 2\n"}
    # the command itself, on a copy
    copy_path = tmp_path / "configmap.yaml"
    copy_path.write_text(stale, encoding="utf-8")
    command = [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "bot", "deploy", "sync-config",
               "--configmap", str(copy_path)]
    assert subprocess.run([*command, "--check"], cwd=PROJECT_ROOT, capture_output=True).returncode == 1
    assert subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True).returncode == 0
    assert copy_path.read_text(encoding="utf-8") == CONFIGMAP.read_text(encoding="utf-8")


# ----- images -----------------------------------------------------------------------------------------------------
def test_images_are_the_two_built_ones_with_the_project_version(docs: list[checks.Doc],
                                                                compose: dict[str, Any]) -> None:
    ours = {f"{checks.REGISTRY}{name}:{_version()}" for name in DOCKERFILES}
    in_k8s = {c["image"] for doc in checks.of_kind(docs, "Deployment") for c in checks.containers(doc)}
    in_compose = {s["image"] for s in compose["services"].values() if checks.REGISTRY in s.get("image", "")}
    assert in_k8s == ours and in_compose == ours
    rasa = checks.find(docs, "Deployment", "tthc-rasa")
    assert rasa is not None and "tthc-rasa:" in checks.containers(rasa)[0]["image"]
    for service in compose["services"].values():
        if "build" in service:
            image = service["image"].split("/")[-1].split(":")[0]
            dockerfile = (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]).resolve()
            assert dockerfile == DOCKERFILES[image].resolve(), service["image"]


def test_dockerfile_copy_sources_exist_and_pass_the_dockerignore(dockerfiles: dict[str, list[dict[str, Any]]]) -> None:
    tracked = _tracked_files()
    allowed = [line[1:].rstrip("/") for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for image, structure in dockerfiles.items():
        copies = _instructions(structure, "COPY") + _instructions(structure, "ADD")
        assert copies, image
        for value in copies:
            parts = [p for p in shlex.split(value) if not p.startswith("--")]
            assert "--from" not in value, f"{image}: multi-stage COPY not expected: {value}"
            for source in parts[:-1]:
                source = source.rstrip("/")
                if source in BUILD_ARTIFACTS:
                    assert source in (PROJECT_ROOT / ".gitignore").read_text() or source.split("/")[0] + "/" in (
                        PROJECT_ROOT / ".gitignore").read_text(), f"{source}: a build output should be git-ignored"
                else:
                    assert source in tracked or any(f.startswith(source + "/") for f in tracked), (
                        f"{DOCKERFILES[image].name}: COPY {source}: not in the repository")
                assert any(source == a or source.startswith(a + "/") for a in allowed), (
                    f"{DOCKERFILES[image].name}: COPY {source}: excluded by .dockerignore")


def test_dockerfiles_run_unprivileged_with_healthcheck_and_no_secret(
        dockerfiles: dict[str, list[dict[str, Any]]], docs: list[checks.Doc]) -> None:
    ports_in_k8s: dict[str, set[int]] = {}
    for doc in checks.of_kind(docs, "Deployment"):
        for container in checks.containers(doc):
            image = container["image"].split("/")[-1].split(":")[0]
            ports_in_k8s.setdefault(image, set()).update(p["containerPort"] for p in container["ports"])
    for image, structure in dockerfiles.items():
        name = DOCKERFILES[image].name
        (base,) = _instructions(structure, "FROM")
        assert base.startswith(f"python:{PYTHON_OF_IMAGE[image]}-"), f"{name}: {base}"
        users = _instructions(structure, "USER")
        assert users and users[-1].split(":")[0] not in {"0", "root"}, f"{name}: runs as root"
        assert _instructions(structure, "HEALTHCHECK"), f"{name}: no HEALTHCHECK"
        entrypoint = _exec_form(_instructions(structure, "ENTRYPOINT")[-1])
        assert entrypoint[:3] == ["python", "-m", "bot.preflight"], f"{name}: start without the production checks"
        for value in _instructions(structure, "ENV") + _instructions(structure, "ARG"):
            for name_value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)", value):
                assert not (SECRET_NAME.search(name_value[0]) and name_value[1]), f"{name}: {name_value[0]} baked in"
        exposed = {int(p) for value in _instructions(structure, "EXPOSE") for p in value.split()}
        assert ports_in_k8s[image] <= exposed, f"{name}: k8s ports {ports_in_k8s[image]} not all EXPOSEd {exposed}"


# ----- docker-compose and HAProxy -------------------------------------------------------------------------------------
def test_compose_services_reference_existing_files_and_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "rasa-1", "rasa-2", "actions-1", "actions-2", "haproxy", "console"):
        assert name in services, name
    for name, service in services.items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith("."):
                assert (COMPOSE.parent / host).exists(), f"{name}: volume {host} does not exist"
        depends = service.get("depends_on", [])
        for other in depends if isinstance(depends, list) else depends.keys():
            assert other in services, f"{name} depends on unknown {other}"
        if "env_file" in service:
            example = COMPOSE.parent / (service["env_file"] + ".example")
            assert example.exists(), f"{name}: {example.name} missing"
    gitignore = (PROJECT_ROOT / ".gitignore").read_text()
    assert "deploy/tthc.env" in gitignore.splitlines(), "the filled-in secrets file must be git-ignored"


def test_haproxy_balances_the_compose_replicas_on_their_ports(compose: dict[str, Any],
                                                             dockerfiles: dict[str, list[dict[str, Any]]]) -> None:
    config = HAPROXY.read_text(encoding="utf-8")
    servers = re.findall(r"^\s*server\s+(\S+)\s+([\w.-]+):(\d+)", config, re.MULTILINE)
    assert {s[0] for s in servers} == {"rasa-1", "rasa-2", "actions-1", "actions-2"}
    for _, host, port in servers:
        service = compose["services"][host]
        image = service["image"].split("/")[-1].split(":")[0]
        exposed = {p for value in _instructions(dockerfiles[image], "EXPOSE") for p in value.split()}
        assert port in exposed, f"haproxy.cfg: {host}:{port} is not a port of {image}"
    binds = set(re.findall(r"^\s*bind\s+:(\d+)", config, re.MULTILINE))
    actions_url = compose["services"]["rasa-1"]["environment"]["ACTIONS_URL"]
    match = re.fullmatch(r"http://haproxy:(\d+)/webhook", actions_url)
    assert match and match.group(1) in binds, actions_url
    published = {p.split(":")[-2] for p in compose["services"]["haproxy"]["ports"]}
    assert published <= binds and match.group(1) not in published, "the actions balancer must stay internal"
    for path in checks.PUBLIC_PATHS:
        assert f"path {path}" in config


def test_compose_rasa_gets_every_variable_the_cluster_endpoints_expand(compose: dict[str, Any]) -> None:
    needed = checks.env_placeholders(SOURCES["endpoints.yml"].read_text(encoding="utf-8"))
    for name in ("rasa-1", "rasa-2"):
        service = compose["services"][name]
        given = set(service["environment"]) | checks.env_file_keys(COMPOSE.parent / (service["env_file"] + ".example"))
        assert needed <= given, f"{name}: {sorted(needed - given)}"
        assert "./endpoints.cluster.yml:/etc/tthc/endpoints.yml:ro" in service["volumes"]


# ----- the rules can fail -------------------------------------------------------------------------------------------
def test_broken_manifests_are_caught(docs: list[checks.Doc], validate: Any) -> None:
    def broken(kind: str, name: str) -> tuple[list[checks.Doc], checks.Doc]:
        copies = copy.deepcopy(docs)
        target = checks.find(copies, kind, name)
        assert target is not None
        return copies, target

    copies, rasa = broken("Deployment", "tthc-rasa")
    checks.containers(rasa)[0]["readinesProbe"] = checks.containers(rasa)[0].pop("readinessProbe")  # a typo
    assert any("readinesProbe" in p for p in checks.schema_problems([rasa], validate, K8S_VERSION))
    assert any("no readinessProbe" in p for p in checks.workload_problems(copies))

    copies, actions = broken("Deployment", "tthc-actions")
    checks.containers(actions)[0]["envFrom"][0]["secretRef"]["name"] = "tthc-nowhere"
    assert any("tthc-nowhere does not exist" in p for p in checks.reference_problems(copies))

    copies, service = broken("Service", "tthc-rasa")
    service.data["spec"]["ports"][0]["targetPort"] = 5006
    assert any("targetPort 5006" in p for p in checks.service_problems(copies))

    copies, public = broken("Ingress", "tthc-public")
    public.data["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/webhooks/rest/webhook"
    assert any("/webhooks/rest/webhook" in p for p in checks.ingress_problems(copies))

    copies, secret = broken("Secret", "tthc-core")
    secret.data["stringData"]["BOT_PRIVACY_SALT"] = "committed-by-mistake"
    assert checks.secret_template_problems(copies)

    copies, watcher = broken("Deployment", "tthc-watcher")
    watcher.data["spec"]["replicas"] = 2
    assert checks.watcher_count(copies) == 2
