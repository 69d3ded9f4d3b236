"""deploy/: static consistency of the container image, KubeRay manifests, cluster-launcher config and
docs with the project (pins, CLI, studies), and the absence of secrets in manifests.

Nothing here needs Docker or Kubernetes: manifests are parsed and cross-checked, the launcher config
is validated with Ray's own schema, and every `archscale` command line in deploy/ and the READMEs is
parsed by the CLI's own click parser (without running it).
"""

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
import yaml

from archscale.cli.app import app

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
KUBERAY = DEPLOY / "kuberay"


def pinned(package: str) -> str:
    """The version of `package` in requirements.lock (the one constraints file)."""
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and name.strip().lower() == package.lower():
            return version.strip()
    raise AssertionError(f"{package} is not pinned in requirements.lock")


RAY_VERSION = pinned("ray")
PROJECT_VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
ARCHSCALE_TAG = re.compile(rf"^{re.escape(PROJECT_VERSION)}-ray{re.escape(RAY_VERSION)}-(gpu|cpu)$")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def manifest_paths() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})


def load_documents(path: Path) -> list[Any]:
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [document for document in yaml.safe_load_all(text) if document is not None]


def k8s_objects() -> list[tuple[Path, dict]]:
    return [
        (path, document)
        for path in manifest_paths()
        if path.parent.name == "kuberay"
        for document in load_documents(path)
        if isinstance(document, dict) and "kind" in document and document.get("kind") != "Kustomization"
    ]


def objects_of(kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for _, obj in k8s_objects() if obj["kind"] == kind}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) pair of a parsed YAML document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def containers(obj: dict) -> list[dict]:
    return [
        container
        for path, value in walk(obj)
        if path.endswith(("containers", "initContainers")) and isinstance(value, list)
        for container in value
    ]


def pod_templates(obj: dict) -> list[dict]:
    return [value for path, value in walk(obj) if path.endswith("template") and isinstance(value, dict)]


# --- every manifest parses ------------------------------------------------------------------------


def test_there_are_manifests() -> None:
    names = {relative(p) for p in manifest_paths()}
    assert {
        "deploy/kuberay/raycluster.yaml",
        "deploy/kuberay/rayjob.yaml",
        "deploy/kuberay/postgres.yaml",
        "deploy/kuberay/configmap-study.yaml",
        "deploy/kuberay/datasets-pvc.yaml",
        "deploy/kuberay/kustomization.yaml",
        "deploy/launcher/cluster.yaml",
    } <= names


@pytest.mark.parametrize("path", manifest_paths(), ids=relative)
def test_manifest_parses(path: Path) -> None:
    documents = load_documents(path)
    assert documents, f"{relative(path)} holds no document"
    assert all(isinstance(document, dict) for document in documents)


# --- Kubernetes objects carry what their kinds require ---------------------------------------------


def require(obj: dict, dotted: str) -> Any:
    node: Any = obj
    for key in dotted.split("."):
        assert isinstance(node, dict) and key in node, f"{obj['kind']} {obj['metadata']['name']}: no {dotted}"
        node = node[key]
    return node


def check_containers(obj: dict, *, resources: bool) -> None:
    found = containers(obj)
    assert found, f"{obj['kind']} {obj['metadata']['name']} has no containers"
    for container in found:
        assert container.get("name") and container.get("image"), container
        if resources:
            assert container.get("resources", {}).get("requests"), f"{container['name']}: no resource requests"
            assert container.get("resources", {}).get("limits"), f"{container['name']}: no resource limits"


def check_service(obj: dict) -> None:
    ports = require(obj, "spec.ports")
    assert ports and all("port" in port for port in ports)
    assert require(obj, "spec.selector")
    assert obj["spec"].get("type", "ClusterIP") == "ClusterIP", "nothing is exposed outside the cluster"


def check_statefulset(obj: dict) -> None:
    services = objects_of("Service")
    assert require(obj, "spec.serviceName") in services, "the governing Service is not in the manifests"
    selector = require(obj, "spec.selector.matchLabels")
    labels = require(obj, "spec.template.metadata.labels")
    assert selector.items() <= labels.items(), "the selector does not select the pod template"
    claims = require(obj, "spec.volumeClaimTemplates")
    mounted = {mount["name"] for c in containers(obj) for mount in c.get("volumeMounts", [])}
    for claim in claims:
        assert claim["metadata"]["name"] in mounted
        assert claim["spec"]["accessModes"] and claim["spec"]["resources"]["requests"]["storage"]
    check_containers(obj, resources=True)


def check_raycluster(obj: dict) -> None:
    spec = obj["spec"]
    head = require(obj, "spec.headGroupSpec")
    assert isinstance(head.get("rayStartParams"), dict)
    assert head.get("serviceType", "ClusterIP") == "ClusterIP", "the dashboard must not leave the cluster"
    assert not head.get("enableIngress", False)
    assert spec.get("rayVersion") == RAY_VERSION
    groups = require(obj, "spec.workerGroupSpecs")
    assert groups
    for group in groups:
        for field in ("groupName", "minReplicas", "maxReplicas", "rayStartParams", "template"):
            assert field in group, f"worker group {group.get('groupName')}: no {field}"
        assert 0 <= group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"]
    check_containers(obj, resources=True)


def check_rayjob(obj: dict) -> None:
    spec = obj["spec"]
    assert require(obj, "spec.entrypoint").strip()
    assert ("rayClusterSpec" in spec) != ("clusterSelector" in spec), "exactly one of rayClusterSpec, clusterSelector"
    assert spec.get("submissionMode", "K8sJobMode") in {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}
    if "rayClusterSpec" in spec:
        check_raycluster({"kind": "RayCluster", "metadata": obj["metadata"], "spec": spec["rayClusterSpec"]})


def check_pvc(obj: dict) -> None:
    assert require(obj, "spec.accessModes")
    assert require(obj, "spec.resources.requests.storage")


def check_configmap(obj: dict) -> None:
    assert require(obj, "data")


REQUIRED = {
    ("v1", "Service"): check_service,
    ("v1", "ConfigMap"): check_configmap,
    ("v1", "PersistentVolumeClaim"): check_pvc,
    ("apps/v1", "StatefulSet"): check_statefulset,
    ("ray.io/v1", "RayCluster"): check_raycluster,
    ("ray.io/v1", "RayJob"): check_rayjob,
}


@pytest.mark.parametrize(
    "obj", [obj for _, obj in k8s_objects()], ids=lambda obj: f"{obj.get('kind')}-{obj.get('metadata', {}).get('name')}"
)
def test_kubernetes_object_is_complete(obj: dict) -> None:
    assert obj.get("apiVersion") and obj.get("kind")
    assert obj.get("metadata", {}).get("name"), "metadata.name"
    key = (obj["apiVersion"], obj["kind"])
    assert key in REQUIRED, f"no check for {key}: add one (a Secret, for one, must never be a manifest)"
    REQUIRED[key](obj)


def test_kustomization_lists_existing_files_and_leaves_out_the_rayjob() -> None:
    kustomization = yaml.safe_load((KUBERAY / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    assert all((KUBERAY / name).is_file() for name in resources)
    assert "rayjob.yaml" not in resources  # applied once per run, not with the long-lived objects
    assert set(resources) == {p.name for p in KUBERAY.glob("*.yaml")} - {"kustomization.yaml", "rayjob.yaml"}
    images = {image["name"]: image for image in kustomization["images"]}
    assert ARCHSCALE_TAG.match(images["archscale"]["newTag"])


def test_references_between_objects_resolve() -> None:
    configmaps, claims = objects_of("ConfigMap"), objects_of("PersistentVolumeClaim")
    clusters = objects_of("RayCluster")
    for _, obj in k8s_objects():
        for path, value in walk(obj):
            if path.endswith("configMap") and isinstance(value, dict):
                assert value["name"] in configmaps, path
            if path.endswith("persistentVolumeClaim") and isinstance(value, dict):
                assert value["claimName"] in claims, path
        for template in pod_templates(obj):
            volumes = {volume["name"] for volume in template.get("spec", {}).get("volumes", [])}
            for container in template.get("spec", {}).get("containers", []):
                for mount in container.get("volumeMounts", []):
                    claim_templates = {c["metadata"]["name"] for c in obj["spec"].get("volumeClaimTemplates", [])}
                    assert mount["name"] in volumes | claim_templates, f"{container['name']}: {mount['name']}"
    for job in objects_of("RayJob").values():
        if "clusterSelector" in job["spec"]:
            assert job["spec"]["clusterSelector"]["ray.io/cluster"] in clusters


def test_the_raycluster_is_built_as_documented() -> None:
    cluster = objects_of("RayCluster")["archscale"]
    spec = cluster["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]
    head_container = head["template"]["spec"]["containers"][0]
    assert head["rayStartParams"].get("num-gpus") == "0"
    assert "nvidia.com/gpu" not in json.dumps(head)
    mounts = {m["mountPath"]: m for m in head_container["volumeMounts"]}
    assert mounts["/studies"]["readOnly"] and mounts["/data"]["readOnly"]
    env = {e["name"]: e for e in head_container["env"]}
    assert "$(ARCHSCALE_DB_PASSWORD)" in env["ARCHSCALE_DB"]["value"]
    gpu_groups = [g for g in spec["workerGroupSpecs"] if "nvidia.com/gpu" in json.dumps(g["template"])]
    assert gpu_groups, "an autoscaling GPU worker group"
    for group in spec["workerGroupSpecs"]:
        assert group["maxReplicas"] > group["minReplicas"], "the group can scale"
        for container in group["template"]["spec"]["containers"]:
            assert "ARCHSCALE_DB" not in json.dumps(container), "workers never see database credentials"
            assert any(m["mountPath"] == "/data" and m.get("readOnly") for m in container["volumeMounts"])
    for group in gpu_groups:
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert int(limits["nvidia.com/gpu"]) >= 1


def test_the_rayjob_runs_a_study_from_the_configmap() -> None:
    job = objects_of("RayJob")["archscale-quickstart"]
    assert job["spec"]["submissionMode"] == "HTTPMode"  # the entrypoint reaches the head unexpanded
    words = shlex.split(job["spec"]["entrypoint"])
    assert words[:2] == ["archscale", "run"]
    assert words[words.index("--address") + 1] == "auto"
    assert words[words.index("--db") + 1] == "$ARCHSCALE_DB"
    study = Path(words[2])
    assert study.parent == Path("/studies")
    assert study.name in objects_of("ConfigMap")["archscale-studies"]["data"]


def test_the_study_configmap_is_current() -> None:
    data = objects_of("ConfigMap")["archscale-studies"]["data"]
    for name, text in data.items():
        source = REPO / "studies" / name
        assert source.is_file(), f"{name} is not in studies/"
        assert text == source.read_text(), (
            f"deploy/kuberay/configmap-study.yaml holds an old copy of studies/{name}: paste the current "
            "file under data (indented by four spaces)"
        )


def test_postgres_password_comes_from_the_secret() -> None:
    statefulset = objects_of("StatefulSet")["archscale-postgres"]
    env = {e["name"]: e for c in containers(statefulset) for e in c.get("env", [])}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "archscale-postgres"


def test_every_secret_referenced_is_created_in_the_docs() -> None:
    readme = (DEPLOY / "README.md").read_text()
    referenced = {
        (value["name"], value["key"])
        for _, obj in k8s_objects()
        for path, value in walk(obj)
        if path.endswith("secretKeyRef")
    }
    cluster = objects_of("RayCluster")["archscale"]
    referenced.add((cluster["spec"]["authOptions"]["secretName"], "auth_token"))
    for name, key in referenced:
        assert re.search(rf"kubectl create secret generic {name} --from-literal={key}=", readme), (name, key)


# --- versions match the pins -------------------------------------------------------------------------


def deploy_text_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix not in {".pyc"})


def test_image_tags_and_ray_versions_match_the_lock() -> None:
    checked = 0
    for path in [*deploy_text_files(), REPO / ".dockerignore"]:
        text = path.read_text()
        for tag in re.findall(r"rayproject/ray:([\w.${}-]+)", text):
            assert tag.startswith((f"{RAY_VERSION}-", "${RAY_VERSION}-")), f"{relative(path)}: rayproject/ray:{tag}"
            checked += 1
        for tag in re.findall(r"\barchscale:([\w.-]+)", text):
            assert ARCHSCALE_TAG.match(tag), f"{relative(path)}: archscale:{tag}"
            checked += 1
        for version in re.findall(r"\bray(?:\[[\w,]+\])?==([\w.]+)", text):
            assert version == RAY_VERSION, f"{relative(path)}: ray=={version}"
        for version in re.findall(r"\bRAY_VERSION=([\w.]+)", text):
            assert version == RAY_VERSION, f"{relative(path)}: RAY_VERSION={version}"
            checked += 1
        for version in re.findall(r"\bRay (\d+\.\d+\.\d+)", text):
            assert version == RAY_VERSION, f"{relative(path)}: Ray {version}"
    for _, obj in k8s_objects():
        for path, value in walk(obj):
            if path.endswith("rayVersion"):
                assert value == RAY_VERSION
                checked += 1
            if path.endswith("image") and isinstance(value, str) and value.split(":")[0].endswith("archscale"):
                assert ARCHSCALE_TAG.match(value.partition(":")[2]), value
    assert checked >= 6


def test_dockerfile_builds_on_the_pinned_ray_image() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))
    assert args["RAY_VERSION"] == RAY_VERSION
    assert args["PYTHON_TAG"] == "py311"
    assert args["VARIANT"] == "gpu"
    assert re.search(r"^FROM rayproject/ray:\$\{RAY_VERSION\}-\$\{PYTHON_TAG\}-\$\{VARIANT\}$", dockerfile, re.M)
    assert "-c requirements.lock" in dockerfile
    assert re.search(r'^CMD \["archscale", "--help"\]$', dockerfile, re.M)
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.M), "KubeRay and the launcher run `ray start` in the image"
    assert re.search(r"^USER ray$", dockerfile, re.M)


def dockerignore_allowed(text: str) -> set[str]:
    return {line[1:].rstrip("/") for line in text.splitlines() if line.startswith("!")}


def test_docker_context_sends_what_the_image_copies() -> None:
    root = (REPO / ".dockerignore").read_text()
    assert (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text() == root, "keep the two ignore files identical"
    allowed = dockerignore_allowed(root)
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (?:--\S+ )*(.+)$", dockerfile, re.M)
        for source in line.split()[:-1]
    }
    assert copied == allowed
    assert all((REPO / name).exists() for name in allowed)


def test_the_launcher_config_is_valid_for_ray() -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((DEPLOY / "launcher" / "cluster.yaml").read_text())
    validate_config(prepare_config(config))
    assert config["provider"]["type"] == "aws"
    gpu_types = [
        node_type
        for node_type in config["available_node_types"].values()
        if re.match(r"(g4dn|g5|g6|g6e|p3|p4d|p5)\.", node_type["node_config"]["InstanceType"])
    ]
    assert gpu_types and all(node_type["max_workers"] >= 1 for node_type in gpu_types)
    head_start = " ".join(config["head_start_ray_commands"])
    assert "RAY_AUTH_MODE=token" in head_start and "--head" in head_start
    assert "--dashboard-host=127.0.0.1" in head_start
    assert "db.env" in head_start  # the database URL, from the head's own file
    assert all("RAY_AUTH_MODE=token" in " ".join(config[k]) for k in ("worker_start_ray_commands",))
    assert "-c ~/archscale/requirements.lock" in " ".join(config["setup_commands"])
    mounts = config["file_mounts"]
    assert mounts["/home/ubuntu/.ray/auth_token"] == "~/.ray/auth_token"
    repo_mounts = {
        local.removeprefix("./") for remote, local in mounts.items() if remote.startswith("/home/ubuntu/archscale/")
    }
    assert repo_mounts == dockerignore_allowed((REPO / ".dockerignore").read_text())
    assert "ARCHSCALE_DB" not in json.dumps(mounts), "file_mounts reach every node; the URL goes to the head only"


# --- every archscale command line is a valid invocation of the real CLI ----------------------------

EXPECTED_COMMANDS = {"run", "submit", "status", "logs", "compare", "db", "studies", "results", "query"}
SEPARATORS = {";", "&&", "||", "|", "&"}
WRAPPERS = {"sudo", "env", "exec", "time", "nohup", "command"}


def known_commands() -> set[str]:
    return set(typer.main.get_command(app).commands) | EXPECTED_COMMANDS


def is_archscale(token: str) -> bool:
    return token == "archscale" or token.endswith("/bin/archscale")


def invocations_in_line(line: str, *, strict: bool) -> Iterator[list[str]]:
    """The argument lists of the `archscale` invocations in one shell command line.

    `archscale` counts where a command starts: first in a segment (after environment assignments and
    wrappers like `env`), after `--` (`kubectl exec ... -- archscale ...`), or after an image in
    `docker run`. In prose-like contexts (comments, `strict=False`) the next word must also be an
    archscale command, so that a sentence beginning with "archscale" is not taken for a command line.
    """
    line = re.sub(r"\$\([^()]*\)", "SUBST", line)  # command substitutions become one word
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token not in SEPARATORS:
            segment.append(token)
            continue
        start = 0
        while start < len(segment) and (re.match(r"^[A-Za-z_]\w*=", segment[start]) or segment[start] in WRAPPERS):
            start += 1
        for index, word in enumerate(segment):
            previous = segment[index - 1] if index else None
            if is_archscale(word) and (index == start or previous == "--" or (previous or "").count("archscale:")):
                args = segment[index + 1 :]
                if args and (strict or args[0] in known_commands()):  # a bare `archscale` is a name
                    yield args
                break
        segment = []


def markdown_command_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines of the fenced code blocks (shell ones and untagged), continuation lines joined."""
    fence, language, pending, start = None, "", "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence else number
            language = stripped[3:].strip()
            continue
        if not fence or language not in {"", "bash", "sh", "shell", "console"}:
            continue
        stripped = stripped.removeprefix("$ ")
        if stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, pending + stripped
        pending = ""


def comment_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        _, hash_, comment = line.partition("#")
        if hash_:
            yield number, comment.strip().removeprefix("$ ")


def collect_invocations() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for path in [DEPLOY / "README.md", REPO / "README.md"]:
        if path.is_file():
            for number, line in markdown_command_lines(path.read_text()):
                found += [(f"{relative(path)}:{number}", args) for args in invocations_in_line(line, strict=True)]
    for path in deploy_text_files():
        if path.suffix in {".yaml", ".yml"}:
            for document in load_documents(path):
                for where, value in walk(document):
                    if isinstance(value, str):
                        for args in invocations_in_line(value, strict=True):
                            found.append((f"{relative(path)}:{where}", args))
        if path.suffix in {".yaml", ".yml", ".sh"} or path.name.startswith("Dockerfile"):
            for number, line in comment_lines(path.read_text()):
                found += [(f"{relative(path)}:{number}", args) for args in invocations_in_line(line, strict=False)]
    return found


INVOCATIONS = collect_invocations()


def parse_invocation(args: list[str]) -> click.Context:
    """Parse `archscale ARGS` with the CLI's click parser, down to the leaf command; run nothing."""
    command: click.Command = typer.main.get_command(app)
    context = command.make_context("archscale", list(args))
    while isinstance(command, click.Group):
        rest = [*context._protected_args, *context.args]  # what click's Group.invoke dispatches on
        assert rest, "a command is missing"
        name, sub, rest = command.resolve_command(context, rest)
        assert sub is not None and name is not None
        command = sub
        context = command.make_context(name, rest, parent=context)
    return context


def test_command_lines_are_found() -> None:
    places = {where.split(":")[0] for where, _ in INVOCATIONS}
    assert {"deploy/README.md", "deploy/kuberay/rayjob.yaml", "deploy/launcher/cluster.yaml"} <= places
    commands = {args[0] for _, args in INVOCATIONS if args}
    assert {"run", "submit", "status", "logs", "compare", "db"} <= commands


@pytest.mark.parametrize(("where", "args"), INVOCATIONS, ids=[where for where, _ in INVOCATIONS])
def test_command_line_is_a_valid_invocation(where: str, args: list[str]) -> None:
    try:
        parse_invocation(args)
    except click.ClickException as error:
        pytest.fail(f"{where}: `archscale {shlex.join(args)}`: {error.format_message()}", pytrace=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("archscale run s.yaml --db $ARCHSCALE_DB", [["run", "s.yaml", "--db", "$ARCHSCALE_DB"]]),
        ("FOO=1 archscale studies | head; echo done", [["studies"]]),
        ("kubectl exec -it $(kubectl get pod -o name) -- archscale db current", [["db", "current"]]),
        ("docker run --rm ghcr.io/x/archscale:1-ray2-gpu archscale lr 1", [["lr", "1"]]),
        ("docker build -t archscale:1 .", []),
        ("kubectl port-forward svc/archscale-head-svc 8265:8265 &", []),
    ],
)
def test_invocation_extraction(line: str, expected: list[list[str]]) -> None:
    assert list(invocations_in_line(line, strict=True)) == expected


def test_prose_in_comments_is_not_a_command() -> None:
    assert list(invocations_in_line("archscale sizes a study's concurrency", strict=False)) == []
    assert list(invocations_in_line("archscale submit s.yaml --address http://h:8265", strict=False))


# --- no secret or password literal in any manifest ---------------------------------------------------

# Not a literal: $VAR, $(...), ${...}, <placeholder>, ***, ALL_CAPS placeholders, and file paths (a
# token *file* such as ~/.ray/auth_token).
REFERENCE = re.compile(r"""^["']?(\$|<|~|/|\./|\*+$|[A-Z][A-Z_]*$|$)""")
SECRET_KEY = re.compile(r"(?i)\b([\w-]*(?:password|passwd|secret|token))\b\s*[:=]\s*(\S*)")
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s@'\"/]+)@")
RANDOM_LOOKING = re.compile(r"\b(?:[0-9a-f]{32,}|[A-Za-z0-9+/]{40,}={0,2})\b")
SECRET_ENV_NAME = re.compile(r"(?i)(password|passwd|secret|token|credential|api_?key)$")


def secret_literals(text: str, *, manifest: bool) -> list[str]:
    """Literal secrets in a file's text: `...password: value` / `...TOKEN=value` assignments (manifests
    only), passwords inside URLs, and long random-looking strings."""
    problems = []
    for line in text.splitlines():
        if manifest:
            for key, value in SECRET_KEY.findall(line):
                if not REFERENCE.match(value):
                    problems.append(f"{key} = {value}")
        problems += [f"password in URL: {m}" for m in URL_PASSWORD.findall(line) if not REFERENCE.match(m)]
        problems += [f"random-looking string: {m[:8]}..." for m in RANDOM_LOOKING.findall(line)]
    return problems


def secret_literals_in_objects(documents: list[Any]) -> list[str]:
    problems = []
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "Secret":
            problems.append(f"a Secret manifest ({document.get('metadata', {}).get('name')}): create it with kubectl")
        for where, value in walk(document):
            literal_env = isinstance(value, dict) and {"name", "value"} <= value.keys() and "valueFrom" not in value
            if literal_env and SECRET_ENV_NAME.search(str(value["name"])) and not REFERENCE.match(str(value["value"])):
                problems.append(f"{where}: {value['name']} has a literal value")
    return problems


@pytest.mark.parametrize(
    "path",
    [p for p in deploy_text_files() if p.suffix != ".md"] + [REPO / ".dockerignore", DEPLOY / "README.md"],
    ids=relative,
)
def test_no_secret_literals(path: Path) -> None:
    manifest = path.suffix in {".yaml", ".yml", ".json"} or path.name.startswith(("Dockerfile", ".dockerignore"))
    problems = secret_literals(path.read_text(), manifest=manifest)
    if path.suffix in {".yaml", ".yml", ".json"}:
        problems += secret_literals_in_objects(load_documents(path))
    assert not problems, f"{relative(path)}: {problems}"


@pytest.mark.parametrize(
    "text",
    [
        "POSTGRES_PASSWORD=hunter2",
        "  password: hunter2",
        "url: postgresql+psycopg://archscale:hunter2@db:5432/archscale",
        "auth_token: 3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",
    ],
)
def test_secret_scan_catches_literals(text: str) -> None:
    assert secret_literals(text, manifest=True)


def test_secret_scan_catches_literal_env_values() -> None:
    pod = {"env": [{"name": "ARCHSCALE_DB_PASSWORD", "value": "hunter2"}]}
    assert secret_literals_in_objects([pod])
    assert not secret_literals_in_objects([{"env": [{"name": "X_PASSWORD", "valueFrom": {"secretKeyRef": {}}}]}])
    assert not secret_literals('url: "postgresql://u:$(PASSWORD)@h/db"', manifest=True)
