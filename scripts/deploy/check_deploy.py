"""Static checks of the deployment files (run by scripts/check-deploy, which installs the tools).

  check_deploy.py static      Dockerfile, .dockerignore, docker-compose.yml, .env.example, Helm chart
  check_deploy.py env PORT    the pm_mcp_server environment of the compose file, as KEY=VALUE lines
                              for a local run (the compose network's mcp_postgres:5432 becomes
                              127.0.0.1:5432, the listen port PORT); the secrets are left to the caller
  check_deploy.py healthcheck the compose health-check command of pm_mcp_server (one word a line)

Each check prints what it checked; any failure exits 1 with the reasons.
"""
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/pm-mcp"
FAILURES: list[str] = []


def check(cond: bool, what: str) -> None:
    if cond:
        print(f"  ok   {what}")
    else:
        print(f"  FAIL {what}")
        FAILURES.append(what)


def known_env_names() -> set[str]:
    """Every environment variable pm-mcp reads: clap's `env = "…"` and std::env::var("…")."""
    names: set[str] = set()
    for path in (ROOT / "crates/pm-mcp/src").glob("*.rs"):
        text = path.read_text()
        names |= set(re.findall(r'env = "([A-Z_]+)"', text))
        names |= set(re.findall(r'env::var(?:_os)?\("([A-Z_]+)"\)', text))
        names |= set(re.findall(r'try_from_env\("([A-Z_]+)"\)', text))
    return names


# ---------------------------------------------------------------------------------------- Dockerfile

def dockerfile_stages(text: str) -> list[dict]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    logical, buf = [], ""
    for line in text.splitlines():
        if not buf and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        if buf.strip():
            logical.append(buf.strip())
        buf = ""
    stages: list[dict] = []
    for ins in logical:
        word, _, rest = ins.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append({"from": rest.split()[0], "name": rest.split()[-1] if " AS " in rest.upper() else None, "ins": []})
        elif stages:
            stages[-1]["ins"].append((word, rest.strip()))
    return stages


def check_dockerfile(env_names: set[str]) -> None:
    print("Dockerfile")
    text = (ROOT / "Dockerfile").read_text()
    stages = dockerfile_stages(text)
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    check(len(stages) >= 2, "multi-stage build")
    for s in stages:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), s["from"])
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        check(bool(tag) and tag != "latest" or "@sha256:" in image, f"base image pinned to a tag or digest: {image}")
    rust = args.get("RUST_VERSION", "")
    workspace = re.search(r'rust-version = "(\d+\.\d+)', (ROOT / "Cargo.toml").read_text())
    check(bool(workspace) and tuple(map(int, rust.split("."))) >= tuple(map(int, workspace.group(1).split("."))),
          f"builder Rust {rust} >= the workspace's rust-version {workspace.group(1) if workspace else '?'}")
    builder = " ".join(r for s in stages[:-1] for w, r in s["ins"] if w == "RUN")
    check("cargo build --release --locked" in builder and "-p pm-mcp" in builder, "cargo build --release --locked -p pm-mcp")
    check("cargo fetch --locked" in builder, "dependencies fetched in their own layer (cargo fetch --locked)")
    members = re.findall(r'"(crates/[\w-]+)"', re.search(r"members = \[(.*?)\]", (ROOT / "Cargo.toml").read_text(), re.S).group(1))
    copied = re.findall(r"^COPY (crates/[\w-]+)/Cargo.toml", text, re.M)
    check(sorted(members) == sorted(copied), f"every workspace member's manifest is copied for the fetch ({len(members)})")
    final = stages[-1]["ins"]
    users = [r for w, r in final if w == "USER"]
    check(bool(users) and users[-1].split(":")[0] not in ("0", "root"), f"final stage runs as a non-root user ({users[-1] if users else 'none'})")
    check("nonroot" in stages[-1]["from"] or "distroless" in stages[-1]["from"], f"small runtime base: {stages[-1]['from']}")
    hc = [r for w, r in final if w == "HEALTHCHECK"]
    check(len(hc) == 1 and 'CMD ["pm-mcp", "health"]' in hc[0], "HEALTHCHECK runs `pm-mcp health` (exec form)")
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(r for w, r in final if w == "ENV")))
    check(set(env) <= env_names, f"ENV names are ones pm-mcp reads: {sorted(env)}")
    port = env.get("PM_MCP_LISTEN", ":").rsplit(":", 1)[1]
    check([r for w, r in final if w == "EXPOSE"] == [port], f"EXPOSE matches PM_MCP_LISTEN's port {port}")
    check(('ENTRYPOINT', '["pm-mcp"]') in final and ('CMD', '["serve"]') in final, 'ENTRYPOINT ["pm-mcp"], CMD ["serve"]')
    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    for must in ("**/target", ".git", ".env", "**/node_modules"):
        check(must in ignore, f".dockerignore keeps out {must}")
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for part in src.split():
            check((ROOT / part).exists() and part.split("/")[0] not in ignore, f"COPY source exists and is not ignored: {part}")


# ------------------------------------------------------------------------------------------- compose

def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def check_compose(env_names: set[str]) -> None:
    print("docker-compose.yml")
    c = compose()
    services = c.get("services", {})
    check(set(services) == {"pm_mcp_server", "mcp_postgres"}, f"services pm_mcp_server and mcp_postgres: {sorted(services)}")
    db = services.get("mcp_postgres", {})
    srv = services.get("pm_mcp_server", {})
    check(db.get("image") == "pgvector/pgvector:pg15", "mcp_postgres image pgvector/pgvector:pg15")
    denv = db.get("environment", {})
    check(denv.get("POSTGRES_DB") == "mcp_server" and denv.get("POSTGRES_USER") == "mcp_user", "database mcp_server, user mcp_user")
    check(str(denv.get("POSTGRES_PASSWORD", "")).startswith("${POSTGRES_PASSWORD"), "the password comes from .env, not the file")
    check(db.get("ports") == ["5434:5432"], "PostgreSQL on host port 5434")
    test = db.get("healthcheck", {}).get("test", [])
    check(test[:2] == ["CMD", "pg_isready"] and "mcp_user" in test and "mcp_server" in test, "mcp_postgres health check: pg_isready -U mcp_user -d mcp_server")
    check(any(v.endswith(":/var/lib/postgresql/data") for v in db.get("volumes", [])) and "mcp_postgres_data" in (c.get("volumes") or {}), "a named volume for the database")
    check(srv.get("depends_on", {}).get("mcp_postgres", {}).get("condition") == "service_healthy", "the server waits for the database's health check")
    check(srv.get("env_file") in (".env", [".env"]), "server secrets from env_file .env")
    check(srv.get("build") == "." and srv.get("healthcheck", {}).get("test") == ["CMD", "pm-mcp", "health"], "built from the Dockerfile, same health check")
    senv = srv.get("environment", {})
    url = str(senv.get("DATABASE_URL", ""))
    check(re.fullmatch(r"postgres://mcp_user:\$\{POSTGRES_PASSWORD[^}]*\}@mcp_postgres:5432/mcp_server", url) is not None, f"DATABASE_URL on the compose network: {url}")
    listen_port = str(senv.get("PM_MCP_LISTEN", ":")).rsplit(":", 1)[1]
    check(srv.get("ports") == [f"{listen_port}:{listen_port}"], f"server published on its listen port {listen_port}")
    ex = env_example()
    names = set(ex) | set(senv)
    check(names - {"POSTGRES_PASSWORD"} <= env_names, f"every server variable is one pm-mcp reads: {sorted(names - env_names - {'POSTGRES_PASSWORD'}) or 'yes'}")
    for k in ("POSTGRES_PASSWORD", "PM_MCP_MASTER_KEY", "PM_MCP_ALLOWED_HOSTS", "PM_MCP_ALLOW_UPSTREAM"):
        check(k in ex, f".env.example names {k}")
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", ".env"], cwd=ROOT, capture_output=True).returncode == 0
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    check(ignored and not tracked, ".env is git-ignored and not committed")


def local_env(port: int) -> list[str]:
    """The server's compose environment for a run on this machine."""
    srv = compose()["services"]["pm_mcp_server"]
    env = dict(env_example())
    env.pop("POSTGRES_PASSWORD", None)
    for k, v in srv.get("environment", {}).items():
        env[k] = str(v)
    env["DATABASE_URL"] = re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", "${POSTGRES_PASSWORD}", env["DATABASE_URL"]).replace("@mcp_postgres:5432/", "@127.0.0.1:5432/")
    env["PM_MCP_LISTEN"] = re.sub(r":\d+$", f":{port}", env["PM_MCP_LISTEN"])
    env["PM_MCP_PUBLIC_URL"] = f"http://localhost:{port}/mcp"
    return [f"{k}={v}" for k, v in env.items()]


# ---------------------------------------------------------------------------------------------- helm

SECRET_VALUES = {"secret": {"databaseUrl": "postgres://u:p@db:5432/pm", "masterKey": base64.b64encode(bytes(32)).decode()}}


def render(values: dict, name: str = "demo") -> dict[str, list[dict]]:
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values, name=name, namespace="prod")
    docs: dict[str, list[dict]] = {}
    for path, text in out.items():
        if path.endswith(".yaml"):
            for d in yaml.safe_load_all(text):
                if d:
                    docs.setdefault(d["kind"], []).append(d)
    return docs


def validate_k8s(docs: dict[str, list[dict]], label: str) -> None:
    import kubernetes_validate

    for kind, items in docs.items():
        for d in items:
            try:
                kubernetes_validate.validate(d, "1.30.0", strict=True)
                check(True, f"{label}: {kind} {d['metadata']['name']} valid against the Kubernetes 1.30 schema (strict)")
            except Exception as e:  # the validator raises its own error types
                check(False, f"{label}: {kind} invalid: {str(e).splitlines()[0]}")


def check_helm(env_names: set[str]) -> None:
    import helm_python as helm

    print(f"Helm chart (helm engine {helm.helm_sdk_version()})")
    report = helm.lint(str(CHART), SECRET_VALUES, strict=True)
    errors = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    check(not errors, f"helm lint --strict: {errors or 'no warnings or errors'}")

    try:
        render({})
        check(False, "rendering without secrets or existingSecret is refused")
    except Exception as e:
        check("set secret.databaseUrl" in str(e), "rendering without secrets or existingSecret is refused with a message")

    docs = render(SECRET_VALUES)
    validate_k8s(docs, "defaults")
    check(sorted(docs) == ["Deployment", "Secret", "Service"], f"defaults: Deployment, Secret, Service ({sorted(docs)})")
    dep = docs["Deployment"][0]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz" and c["livenessProbe"]["httpGet"]["path"] == "/healthz", "readiness /readyz, liveness /healthz")
    port = c["ports"][0]["containerPort"]
    check(env["PM_MCP_LISTEN"]["value"] == f"0.0.0.0:{port}", f"PM_MCP_LISTEN on the container port {port}")
    check(set(env) <= env_names, f"env names are ones pm-mcp reads: {sorted(set(env) - env_names) or 'yes'}")
    sc = c["securityContext"]
    check(pod["securityContext"]["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["allowPrivilegeEscalation"] is False, "non-root, read-only root filesystem, no privilege escalation")
    secret = docs["Secret"][0]
    check(all(env[k]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"] for k in ("DATABASE_URL", "PM_MCP_MASTER_KEY")), "DATABASE_URL and PM_MCP_MASTER_KEY from the chart's Secret")
    check(base64.b64decode(secret["data"]["DATABASE_URL"]).decode() == SECRET_VALUES["secret"]["databaseUrl"], "the Secret holds the given database URL")
    check(dep["spec"]["replicas"] == 2, "replicas from replicaCount when autoscaling is off")

    docs = render({
        "existingSecret": "pm-mcp-prod",
        "ingress": {"enabled": True, "className": "nginx", "hosts": [{"host": "mcp.acme.org", "paths": [{"path": "/", "pathType": "Prefix"}]}], "tls": [{"secretName": "mcp-tls", "hosts": ["mcp.acme.org"]}]},
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9},
        "allowUpstream": ["jira.corp", "10.20.0.0/16"],
        "allowedHosts": ["mcp.internal"],
        "publicUrl": "https://mcp.acme.org/mcp",
    }, name="pm-mcp")
    validate_k8s(docs, "ingress+hpa+existingSecret")
    check(sorted(docs) == ["Deployment", "HorizontalPodAutoscaler", "Ingress", "Service"], f"with existingSecret no Secret; Ingress and HPA when enabled ({sorted(docs)})")
    dep = docs["Deployment"][0]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    check(env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "pm-mcp-prod", "the existing Secret is used")
    hosts = env["PM_MCP_ALLOWED_HOSTS"]["value"].split(",")
    check({"mcp.acme.org", "mcp.internal", "pm-mcp.prod.svc"} <= set(hosts), f"allowed hosts: ingress host, allowedHosts, the Service name ({hosts})")
    check(env["PM_MCP_ALLOW_UPSTREAM"]["value"] == "jira.corp,10.20.0.0/16", "allowUpstream passed as PM_MCP_ALLOW_UPSTREAM")
    check("replicas" not in dep["spec"], "no fixed replicas under the HPA")
    hpa = docs["HorizontalPodAutoscaler"][0]["spec"]
    check((hpa["minReplicas"], hpa["maxReplicas"], hpa["scaleTargetRef"]["name"]) == (3, 9, dep["metadata"]["name"]), "HPA bounds and target")
    ing = docs["Ingress"][0]["spec"]
    check(ing["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == docs["Service"][0]["metadata"]["name"], "Ingress routes to the Service")


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "static"
    if cmd == "env":
        print("\n".join(local_env(int(sys.argv[2]))))
        return
    if cmd == "healthcheck":
        print("\n".join(compose()["services"]["pm_mcp_server"]["healthcheck"]["test"][1:]))
        return
    names = known_env_names()
    check(len(names) > 10, f"pm-mcp's environment variables found in the sources ({len(names)})")
    check_dockerfile(names)
    check_compose(names)
    check_helm(names)
    if FAILURES:
        print(f"{len(FAILURES)} deployment check(s) failed:", *FAILURES, sep="\n  ")
        sys.exit(1)
    print("deployment files: all static checks passed")


if __name__ == "__main__":
    main()
