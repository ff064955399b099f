"""The container image, built for real with buildah and run against the simulated Sisumaker.

The image is built from the project's Dockerfile on a local Debian base made by
``../shared/container/base-image.sh`` (no Docker engine and no registry needed), exactly as its
header shows. ``buildah run --isolation chroot`` shares the host's network and PID namespace, so
the bridge inside reaches a simulator on 127.0.0.1 and its process can be signalled from here.
Needs root; the script installs buildah and debootstrap with apt when they are missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.conftest import unavailable
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.container]

BASE_SCRIPT = ROOT.parent / "shared" / "container" / "base-image.sh"
IMAGE = "localhost/bridge:test"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BRIDGE_UID = 10001
OUTPUT = "/test-output"  # where a command's stdout and stderr files are written
GRACE_S = 10.0  # the usual stop grace period (docker stop, Kubernetes' default is 30)
BASE_TIMEOUT_S = 1200  # apt-get install buildah + debootstrap on a cold machine
BUILD_TIMEOUT_S = 900


def _env() -> dict[str, str]:
    """The environment for buildah: the script's storage driver, no BRIDGE_* from outside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    env["STORAGE_DRIVER"] = "vfs"
    return env


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _buildah(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["buildah", *args], env=_env(), capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        pytest.fail(f"buildah {' '.join(args)} exited {done.returncode}:\n{_tail(done.stderr)}")
    return done


def _image_id(name: str) -> str | None:
    done = _buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", name,
                    check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _base_image() -> str:
    """Run the shared script (it may install buildah first); skip only if buildah cannot be had.

    In CI (CI=true) each of those skips fails the run instead: see tests.conftest.unavailable.
    """
    if not BASE_SCRIPT.is_file():
        unavailable(f"no base-image script at {BASE_SCRIPT}: the container test needs the shared/ "
                    "folder beside the repository")
    have_buildah = shutil.which("buildah") is not None
    if os.geteuid() != 0:
        why = "buildah needs root here" if have_buildah else \
            "buildah is not installed and installing it needs root"
        unavailable(f"{why} (running as uid {os.geteuid()}); see {BASE_SCRIPT}")
    if not have_buildah and shutil.which("apt-get") is None:
        unavailable("buildah is not installed and cannot be: there is no apt-get on this machine")
    try:
        done = subprocess.run(["bash", str(BASE_SCRIPT)], env=_env(), capture_output=True,
                              text=True, timeout=BASE_TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{BASE_SCRIPT} took more than {BASE_TIMEOUT_S} s")
    if done.returncode != 0:
        if shutil.which("buildah") is None:
            unavailable("buildah is not installed and could not be installed with apt-get:\n"
                        + _tail(done.stderr, 15))
        pytest.fail(f"{BASE_SCRIPT} exited {done.returncode}:\n{_tail(done.stderr)}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def image() -> str:
    """Build the base image (once per machine) and the bridge image from the Dockerfile."""
    base = _base_image()
    previous = _image_id(IMAGE)
    started = time.monotonic()
    try:
        # --format docker: the OCI format has no HEALTHCHECK and buildah would drop it.
        # The CA bundle lets pip in the build through a TLS-intercepting proxy; not kept.
        ca = ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if Path(CA_BUNDLE).is_file() else []
        build = subprocess.run(
            ["buildah", "bud", "--isolation", "chroot", "--pull=never", "--format", "docker",
             "--build-arg", f"BASE={base}", *ca, "-t", IMAGE, "."],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
            check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"buildah bud took more than {BUILD_TIMEOUT_S} s")
    assert build.returncode == 0, f"buildah bud failed:\n{_tail(build.stdout)}\n{_tail(build.stderr)}"
    print(f"\nbuilt {IMAGE} on {base} in {time.monotonic() - started:.0f} s")
    current = _image_id(IMAGE)
    if previous and previous != current:
        _buildah("rmi", previous, check=False)  # the last run's image, now untagged
    return IMAGE


@dataclass
class Container:
    """A working container made with ``buildah from``; ``run`` runs one command in it.

    The command's stdout and stderr go to files in a host folder bind-mounted into the
    container, not through buildah: under load ``buildah run --isolation chroot`` (1.28) can
    lose the end of what its command printed just before exiting.
    """

    name: str
    scratch: Path

    def output_dir(self) -> Path:
        """A fresh host folder the unprivileged user inside may write to."""
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        folder.chmod(0o777)
        return folder

    def argv(self, *command: str, output: Path, env: dict[str, str] | None = None,
             volumes: tuple[str, ...] = ()) -> list[str]:
        """``buildah run`` of ``command``, its output going to ``output``/stdout and stderr."""
        args = ["buildah", "run", "--isolation", "chroot"]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        for volume in (*volumes, f"{output}:{OUTPUT}"):
            args += ["-v", volume]
        # exec: the command replaces the shell, as it would as the image's entrypoint.
        redirect = f'exec "$@" >{OUTPUT}/stdout 2>{OUTPUT}/stderr'
        return [*args, self.name, "--", "sh", "-c", redirect, "sh", *command]

    def run(self, *command: str, env: dict[str, str] | None = None, timeout: float = 120,
            volumes: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run to the end; stderr holds the command's and then buildah's own."""
        output = self.output_dir()
        done = subprocess.run(self.argv(*command, output=output, env=env, volumes=volumes),
                              env=_env(), capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
        return subprocess.CompletedProcess(done.args, done.returncode, _read(output / "stdout"),
                                           _read(output / "stderr") + done.stderr)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


@pytest.fixture(scope="module")
def containers(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Make containers from the image; remove every one of them at the end."""
    scratch = tmp_path_factory.mktemp("container-output")
    made: list[str] = []

    def make() -> Container:
        name = f"bridge-test-{uuid.uuid4().hex[:12]}"
        _buildah("from", "--pull=never", "--name", name, image)
        made.append(name)
        return Container(name, scratch)

    yield make
    for name in made:
        _buildah("rm", name, check=False)


@pytest.fixture(scope="module")
def container(containers: Any) -> Container:
    """One container for the commands that leave nothing behind."""
    return containers()


@pytest.fixture(scope="module")
def config(image: str) -> dict[str, Any]:
    """The image's configuration as Docker sees it (HEALTHCHECK lives only there)."""
    done = _buildah("inspect", "--type", "image", image)
    return json.loads(done.stdout)["Docker"]["config"]


@pytest.fixture
def sisumaker() -> Iterator[tuple[SimServer, Any]]:
    """A simulated Sisumaker on 127.0.0.1 with generated letters and dispositions."""
    state = SimState()
    summary = generate(state, letters=120, seed=11)
    with SimServer(state) as server:
        yield server, summary


def _sim_env(server: SimServer, **extra: str) -> dict[str, str]:
    env = {"BRIDGE_SISUMAKER_URL": server.url, "BRIDGE_SISUMAKER_USERNAME": DEFAULT_USERNAME,
           "BRIDGE_SISUMAKER_PASSWORD": DEFAULT_PASSWORD, "BRIDGE_DATA_DIR": "/data",
           "BRIDGE_LOG_FORMAT": "json"}
    env.update(extra)
    return env


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (buildah run -> chroot-runtime -> chroot-exec -> command)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        # A Go program (buildah) forks from any of its threads: read every thread's children.
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for child in map(int, children.read_text().split()):
                    found.append(child)
                    todo.append(child)
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------


def test_help_lists_the_commands(container: Container) -> None:
    done = container.run("bridge", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: bridge" in done.stdout
    for word in ("sync", "run", "status", "BRIDGE_SISUMAKER_URL"):
        assert word in done.stdout


def test_runs_as_the_unprivileged_bridge_user(container: Container) -> None:
    uid = container.run("id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert int(uid.stdout) == BRIDGE_UID != 0
    assert container.run("whoami").stdout.strip() == "bridge"
    probe = container.run("sh", "-c", "pwd; touch /data/probe && echo writable; "
                                      "touch /opt/bridge/probe 2>/dev/null || echo read-only")
    assert probe.stdout.split() == ["/data", "writable", "read-only"], probe


def test_the_image_is_slim(container: Container) -> None:
    """Only the installed package: no sources, no pip or setuptools, no compiler."""
    done = container.run("sh", "-c", "ls /src 2>&1; /opt/bridge/bin/python -m pip --version 2>&1; "
                                     "/opt/bridge/bin/python -c 'import setuptools' 2>&1; "
                                     "command -v gcc cc || echo no-compiler; "
                                     "ls /opt/bridge/lib/python3*/site-packages/bridge/_mappings")
    out = done.stdout
    assert "No such file" in out.splitlines()[0], out
    assert "No module named pip" in out and "No module named 'setuptools'" in out, out
    assert "no-compiler" in out
    assert "sisumaker.toml" in out  # the mapping files ship inside the package


def test_image_config(config: dict[str, Any]) -> None:
    assert config["User"] not in ("", "0", "root") and not config["User"].startswith("0:")
    assert config["User"].split(":")[0] == str(BRIDGE_UID)
    assert "/data" in (config.get("Volumes") or {})
    assert config["WorkingDir"] == "/data"
    assert "BRIDGE_DATA_DIR=/data" in config["Env"]
    assert config["Entrypoint"] == ["bridge"] and config["Cmd"] == ["run"]
    health = config.get("Healthcheck") or {}
    assert health.get("Test", [""])[0] == "CMD", health  # exec form, no shell needed
    assert "/healthz" in " ".join(health["Test"]) and "BRIDGE_METRICS_PORT" in " ".join(health["Test"])
    assert health["Timeout"] <= 10 * 10**9
    assert config.get("StopSignal", "SIGTERM") == "SIGTERM"


def test_sync_once_then_status_in_the_same_container(containers: Any,
                                                     sisumaker: tuple[SimServer, Any]) -> None:
    server, summary = sisumaker
    box = containers()
    done = box.run("bridge", "sync", "--once", env=_sim_env(server), timeout=180)
    assert done.returncode == 0, done.stderr
    lines = _json_lines(done.stdout)
    assert lines, f"no log line; stderr: {done.stderr}"
    for line in lines:
        assert {"timestamp", "level", "event"} <= line.keys()
    passes = [line for line in lines if line["event"] == "pass.completed"]
    assert {line["list"] for line in passes} == {"surat", "disposisi"}
    assert any(line["event"] == "sync.summary" and line["failures"] == 0 for line in lines)

    status = box.run("bridge", "status", "--json", env=_sim_env(server))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    expected = {"surat": sum(v[0] for v in summary.by_year.values()),
                "disposisi": sum(v[1] for v in summary.by_year.values())}
    assert report["items"] == expected and expected["surat"] > 0
    assert report["last_complete_pass_at"] is not None
    ledger = box.run("ls", "-ln", "/data")
    assert "ledger.sqlite3" in ledger.stdout
    assert all(row.split()[2] == str(BRIDGE_UID) for row in ledger.stdout.splitlines()[1:])


def test_run_is_healthy_and_stops_cleanly_on_sigterm(containers: Any, config: dict[str, Any],
                                                     sisumaker: tuple[SimServer, Any],
                                                     tmp_path: Path) -> None:
    server, _ = sisumaker
    box = containers()
    port = _free_port()
    secret = tmp_path / "sisumaker"
    secret.write_text(DEFAULT_PASSWORD + "\n")
    secret.chmod(0o644)
    env = _sim_env(server, BRIDGE_METRICS_PORT=str(port),
                   BRIDGE_SISUMAKER_PASSWORD_FILE="/run/secrets/sisumaker")
    del env["BRIDGE_SISUMAKER_PASSWORD"]
    # buildah run ignores ENTRYPOINT and CMD: run exactly what they say.
    command = [*config["Entrypoint"], *config["Cmd"]]
    output = box.output_dir()
    stdout, stderr = output / "stdout", output / "stderr"
    with subprocess.Popen(
            box.argv(*command, output=output, env=env,
                     volumes=(f"{secret}:/run/secrets/sisumaker:ro",)),
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL) as proc:
        try:
            deadline = time.monotonic() + 120
            while '"sync.summary"' not in _read(stdout):
                assert proc.poll() is None, f"bridge run exited {proc.returncode}:\n" \
                    f"{_read(stdout)}\n{_read(stderr)}"
                assert time.monotonic() < deadline, f"no round finished:\n{_read(stdout)}"
                time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                assert answer.status == 200
            # The image's own HEALTHCHECK command, run as the engine would, in another container.
            probe = containers().run(*config["Healthcheck"]["Test"][1:],
                                     env={"BRIDGE_METRICS_PORT": str(port)}, timeout=60)
            assert probe.returncode == 0, probe.stderr

            # buildah run does not forward SIGTERM (it kills its command instead), so do what the
            # engine does to PID 1: signal the bridge process itself, found below buildah run
            # (buildah-chroot-exec, its parent, shows the same arguments: skip it).
            bridge_pids = [pid for pid in _descendants(proc.pid)
                           if _cmdline(pid)[1:3] == ["/opt/bridge/bin/bridge", "run"]
                           and not _cmdline(pid)[0].startswith("buildah")]
            assert len(bridge_pids) == 1, [(p, _cmdline(p)) for p in _descendants(proc.pid)]
            assert Path(f"/proc/{bridge_pids[0]}").stat().st_uid == BRIDGE_UID
            sent = time.monotonic()
            os.kill(bridge_pids[0], signal.SIGTERM)
            returncode = proc.wait(timeout=GRACE_S)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                for pid in reversed(_descendants(proc.pid)):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait(30)
        buildah_stderr = proc.stderr.read() if proc.stderr else ""
    assert returncode == 0, f"exit {returncode} after SIGTERM:\n{_read(stderr)}\n{buildah_stderr}"
    assert took < GRACE_S
    events = [json.loads(line)["event"] for line in _read(stdout).splitlines() if line.strip()]
    assert "shutdown.requested" in events and events[-1] == "daemon.stopped", events
    print(f"\nbridge run stopped {took:.2f} s after SIGTERM")
