"""A throwaway Docker Engine for `--prove-cold`: a CI runner's empty BuildKit cache, honestly.

`ColdEngine` starts a `dockerd` of its own on a scratch data-root, exec-root
and socket (its own containerd too), so nothing else ever builds there and
its BuildKit cache holds only what `--prove` put in it. The base images a
CI job would pull are copied in from the user's engine (`docker save |
docker load`); before each cold rebuild the engine's build cache is pruned
and the images it built are removed, so the rebuild starts empty and can
reuse only the cache it imports from the registry. Stopping it ends that
dockerd (its own pid) and removes the folder. The user's engine, its images
and its build cache are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from ..errors import UvscopeError

DOCKERD_CANDIDATES = ("dockerd", "/usr/sbin/dockerd", "/usr/bin/dockerd")


def find_dockerd(explicit: str | None = None) -> str:
    """The dockerd to start (`UVSCOPE_COLD_DOCKERD`, else `dockerd` on PATH)."""
    for candidate in (explicit or os.environ.get("UVSCOPE_COLD_DOCKERD") or "", *DOCKERD_CANDIDATES):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise UvscopeError("--prove-cold starts a throwaway dockerd: none found (install docker.io, or set UVSCOPE_COLD_DOCKERD)")


def check_dockerd(containerd_store: bool, explicit: str | None = None) -> str:
    """The dockerd `--prove-cold` will start, checked before anything is built: buildx's registry cache needs the
    containerd image store, so a dockerd 24+."""
    binary = find_dockerd(explicit)
    try:
        said = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UvscopeError(f"--prove-cold: cannot run {binary} --version ({error})") from None
    match = re.search(r"version (\d+)\.", said)
    if containerd_store and match and int(match.group(1)) < 24:
        raise UvscopeError(
            f"--prove-cold with buildx imports a registry cache, which needs a dockerd 24+ for the throwaway "
            f"engine: {binary} is {said.split(',')[0].strip()} (set UVSCOPE_COLD_DOCKERD)"
        )
    return binary


class ColdEngine:
    """A dockerd of its own in `folder`, driven with the user's client `docker`."""

    def __init__(self, folder: str, docker: str, *, dockerd: str | None = None, containerd_store: bool = False) -> None:
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            raise UvscopeError("--prove-cold starts a throwaway dockerd, which needs root (run as root, or leave --prove-cold out)")
        self.docker = docker
        self.folder = folder
        self.built: list[str] = []
        binary = find_dockerd(dockerd)
        for part in ("root", "exec"):
            os.makedirs(os.path.join(folder, part), exist_ok=True)
        config = os.path.join(folder, "daemon.json")
        with open(config, "w", encoding="utf-8") as handle:  # our scratch folder; not the host's /etc/docker/daemon.json
            # buildx's registry cache needs the containerd image store on the docker driver (dockerd 24+)
            handle.write('{"features": {"containerd-snapshotter": true}}\n' if containerd_store else "{}\n")
        socket = os.path.join(folder, "docker.sock")
        self.host = f"unix://{socket}"
        args = [
            binary,
            "--host",
            self.host,
            "--data-root",
            os.path.join(folder, "root"),
            "--exec-root",
            os.path.join(folder, "exec"),
            "--config-file",
            config,
            "--pidfile",
            os.path.join(folder, "docker.pid"),
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
        ]
        self.log = open(os.path.join(folder, "dockerd.log"), "wb")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        for _ in range(120):
            if self.process.poll() is not None:
                break
            answered = self._run("version", "--format", "{{.Server.Version}}", check=False)
            if answered.returncode == 0:
                major = answered.stdout.strip().split(".")[0]
                if containerd_store and major.isdigit() and int(major) < 24:
                    self.stop()
                    raise UvscopeError(
                        f"--prove-cold with buildx imports a registry cache, which needs a dockerd 24+ for the throwaway "
                        f"engine: {binary} is {answered.stdout.strip()} (set UVSCOPE_COLD_DOCKERD)"
                    )
                return
            time.sleep(0.25)
        self.log.flush()
        with open(self.log.name, "rb") as handle:  # the log goes with the folder: say its last line
            said = [line.strip() for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
        self.stop()
        raise UvscopeError(f"--prove-cold: the throwaway dockerd ({binary}) did not start: {said[-1] if said else 'no output'}")

    @property
    def env(self) -> dict[str, str]:
        """The environment that points the client at this engine."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1"}

    def client(self):
        """A client of this engine, for reading what it built."""
        from ..read.engine_api import EngineAPI

        return EngineAPI(self.host, timeout=120)

    def _run(self, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([self.docker, *args], capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            said = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UvscopeError(f"--prove-cold: docker {args[0]} on the throwaway engine failed: {said}")
        return result

    def copy_images(self, images: list[str], user_env: dict[str, str] | None = None) -> None:
        """`docker save` the user's images (what a CI job pulls first) and load them here."""
        if not images:
            return
        saved = subprocess.Popen([self.docker, "save", *images], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=user_env)
        loaded = subprocess.run([self.docker, "load", "-q"], stdin=saved.stdout, capture_output=True, env=self.env, timeout=3600)
        if saved.stdout is not None:
            saved.stdout.close()
        error = saved.stderr.read().decode(errors="replace").strip() if saved.stderr is not None else ""
        if saved.wait() != 0 or loaded.returncode != 0:
            said = (error or loaded.stderr.decode(errors="replace").strip() or "no output").splitlines()[-1]
            raise UvscopeError(f"--prove-cold: cannot copy {', '.join(images)} to the throwaway engine: {said}")

    def empty_cache(self) -> None:
        """Prune every build cache record and remove the images built here: the next build starts cold."""
        for tag in self.built:
            self._run("image", "rm", "-f", tag, check=False)
        self.built.clear()
        self._run("builder", "prune", "-af")

    def stop(self) -> None:
        """End this dockerd (its own pid: it stops its containerd and unmounts) and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
