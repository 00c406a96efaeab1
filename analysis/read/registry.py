"""A registry as an image source: the registry HTTP API (v2), no daemon needed.

Anonymous, basic and bearer-token auth (credentials from
`~/.docker/config.json`), manifests and image indexes (`--platform`), gzip and
zstd layers, retries with backoff on transient errors, timeouts everywhere.
The registry's files are presented as a blob store, so the OCI layout logic
(`uvscope.analysis.read.layout`) picks the manifest and its layers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass

from ..errors import ArchiveError, ImageNotFound, UvscopeError
from .engine_storage import docker_config_folder
from .layer_reader import read_layer
from .layout import JSON_CAP

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
TIMEOUT = (10, 120)
RETRIES = 4


class RegistryError(UvscopeError):
    """The registry refused or failed."""


@dataclass(frozen=True)
class RegistryRef:
    """`host[:port]/repository[:tag|@digest]`."""

    host: str
    repository: str
    reference: str
    scheme: str = "https"

    @property
    def label(self) -> str:
        separator = "@" if self.reference.startswith("sha256:") else ":"
        return f"{self.host}/{self.repository}{separator}{self.reference}"


def parse_registry_ref(text: str) -> RegistryRef:
    """Parse `registry://host/repo:tag`, `host/repo@sha256:...`; loopback hosts speak plain HTTP."""
    scheme = "https"
    for prefix, chosen in (
        ("registry+http://", "http"),
        ("registry://", ""),
        ("docker://", ""),
        ("http://", "http"),
        ("https://", "https"),
    ):
        if text.startswith(prefix):
            text, scheme = text[len(prefix) :], chosen or scheme
            break
    host, _, rest = text.partition("/")
    if not rest or not ("." in host or ":" in host or host == "localhost"):
        raise UvscopeError(f"not a registry reference: {text!r} (expected host[:port]/repository[:tag])")
    if "@" in rest:
        repository, _, reference = rest.partition("@")
    else:
        repository, _, reference = rest.rpartition(":") if ":" in rest.rpartition("/")[2] else (rest, "", "latest")
    if not re.fullmatch(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", repository):
        raise UvscopeError(f"invalid repository name {repository!r}")
    if host.split(":")[0] in ("localhost", "127.0.0.1", "::1") and scheme == "https" and not os.environ.get("UVSCOPE_REGISTRY_TLS"):
        scheme = "http"
    return RegistryRef(host, repository, reference, scheme)


def _docker_credentials(host: str) -> tuple[str, str] | None:
    path = os.path.join(docker_config_folder(), "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            auths = json.load(handle).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return None
    for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/"):
        entry = auths.get(key)
        if isinstance(entry, dict) and entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return user, password
            except (ValueError, UnicodeDecodeError):
                return None
    return None


class RegistryClient:
    """Talks to one repository of one registry."""

    def __init__(self, ref: RegistryRef, credentials: tuple[str, str] | None = None) -> None:
        import requests

        self.ref = ref
        self.base = f"{ref.scheme}://{ref.host}/v2/{ref.repository}"
        self.session = requests.Session()
        self.credentials = credentials or _docker_credentials(ref.host)
        self.authorization: str | None = None

    def _authenticate(self, challenge: str) -> None:
        import requests

        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self.credentials is None:
                raise RegistryError(f"{self.ref.host} wants a login (docker login {self.ref.host}, or ~/.docker/config.json)")
            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            self.authorization = f"Basic {token}"
            return
        if scheme.lower() != "bearer":
            raise RegistryError(f"{self.ref.host}: unsupported authentication {scheme!r}")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        realm = fields.pop("realm", None)
        if not realm:
            raise RegistryError(f"{self.ref.host}: bearer challenge without a realm")
        fields.setdefault("scope", f"repository:{self.ref.repository}:pull")
        try:
            response = self.session.get(realm, params=fields, auth=self.credentials, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise RegistryError(f"cannot reach the token service {realm}: {error}") from None
        if response.status_code != 200:
            raise RegistryError(f"the token service of {self.ref.host} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise RegistryError(f"the token service of {self.ref.host} did not answer JSON") from None
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"the token service of {self.ref.host} gave no token")
        self.authorization = f"Bearer {token}"

    def get(self, path: str, *, accept: str | None = None, stream: bool = False):
        """GET with auth, retries with backoff on 429/5xx/connection errors, and clear errors."""
        import requests

        url = f"{self.base}/{path}"
        delay = 0.5
        authenticated = False
        for attempt in range(RETRIES + 1):
            headers = {"Accept": accept} if accept else {}
            if self.authorization:
                headers["Authorization"] = self.authorization
            try:
                response = self.session.get(url, headers=headers, stream=stream, timeout=TIMEOUT)
            except requests.RequestException as error:
                if attempt == RETRIES:
                    raise RegistryError(f"cannot reach {self.ref.host}: {type(error).__name__}") from None
                time.sleep(delay)
                delay *= 2
                continue
            if response.status_code == 401 and not authenticated:
                self._authenticate(response.headers.get("WWW-Authenticate", ""))
                authenticated = True
                continue
            if response.status_code == 401:
                raise RegistryError(f"{self.ref.host} refused the credentials for {self.ref.repository} (401)")
            if response.status_code == 403:
                raise RegistryError(f"{self.ref.host} denies access to {self.ref.repository} (403)")
            if response.status_code == 404:
                raise ImageNotFound(f"{self.ref.label}: not found in the registry ({path.split('/')[0]})")
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == RETRIES:
                    raise RegistryError(f"{self.ref.host} answered {response.status_code} {RETRIES + 1} times; giving up")
                wait = response.headers.get("Retry-After", "")
                time.sleep(min(float(wait), 30) if wait.isdigit() else delay)
                delay *= 2
                continue
            if response.status_code != 200:
                raise RegistryError(f"{self.ref.host} answered {response.status_code} for {path}")
            return response
        raise RegistryError(f"{self.ref.host}: too many attempts")

    def tags(self) -> list[str]:
        """Every tag of the repository."""
        response = self.get("tags/list")
        try:
            return sorted(str(tag) for tag in (response.json().get("tags") or []))
        except (ValueError, AttributeError):
            raise RegistryError(f"{self.ref.host}: tags/list is not JSON") from None


class RegistryStore:
    """The repository's manifests and blobs, as the blob store the layout logic reads."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._small: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}
        response = client.get(f"manifests/{client.ref.reference}", accept=MANIFEST_TYPES)
        data = response.content[: JSON_CAP + 1]
        digest = response.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(data).hexdigest()
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        name = "blobs/" + digest.replace(":", "/", 1)
        self._small[name] = data
        index = {"schemaVersion": 2, "manifests": [{"mediaType": media_type, "digest": digest, "size": len(data)}]}
        self._small["index.json"] = json.dumps(index).encode()

    def exists(self, name: str) -> bool:
        return name == "index.json"

    def size(self, name: str) -> int | None:
        return self._sizes.get(name)

    def _digest(self, name: str) -> str:
        parts = name.split("/")
        if len(parts) != 3 or parts[0] != "blobs":
            raise ArchiveError(f"unexpected blob name {name!r}")
        return f"{parts[1]}:{parts[2]}"

    def read_bytes(self, name: str) -> bytes:
        if name in self._small:
            return self._small[name]
        digest = self._digest(name)
        # Configs are blobs; so are manifests in most registries, which also serve them as manifests.
        try:
            response = self.client.get(f"blobs/{digest}")
        except ImageNotFound:
            response = self.client.get(f"manifests/{digest}", accept=MANIFEST_TYPES)
        data = response.content
        if len(data) > JSON_CAP:
            raise ArchiveError(f"{digest} is too large to be metadata")
        self._small[name] = data
        return data

    def read_layer(self, name: str, monitor=None):
        response = self.client.get(f"blobs/{self._digest(name)}", stream=True)
        with response:
            response.raw.decode_content = False
            try:
                return read_layer(response.raw, monitor=monitor, digests=True)
            except (OSError, ValueError) as error:
                raise RegistryError(f"the download of {name} broke: {error}") from None
