"""``ember.hub``: PyTorch's ``torch.hub`` - weights by URL and models from ``hubconf.py``.

``load_state_dict_from_url`` downloads a checkpoint once into ``<hub_dir>/checkpoints`` and loads
it with :func:`ember.load`; ``load``/``list``/``help`` import a repository's ``hubconf.py``,
either from a local directory (``source='local'``) or from a GitHub zipball cached in
``get_dir()``, with PyTorch's trust prompt and ``trusted_list`` file. The cache layout, file
names and messages are PyTorch's, so a cache filled by one serves the other.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

# the hash prefix in a checkpoint's name: "bfd8deac" in resnet18-bfd8deac.pth
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
# owners whose repositories PyTorch trusts without asking
_TRUSTED_REPO_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
_CHUNK = 128 * 1024
_hub_dir: str | None = None


# --- the cache directory ---------------------------------------------------------------------


def get_dir() -> str:
    """The hub cache directory: the one given to :func:`set_dir`, else ``$TORCH_HOME/hub``, where
    ``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, ``$XDG_CACHE_HOME`` to ``~/.cache``.
    """
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    cache_home = os.getenv("XDG_CACHE_HOME", "~/.cache")
    torch_home = os.getenv("TORCH_HOME", os.path.join(cache_home, "torch"))
    return os.path.join(os.path.expanduser(torch_home), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use directory ``d`` (``~`` expanded) for downloaded repositories and weights from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


# --- downloading -------------------------------------------------------------------------------


class _Progress:
    """A byte counter on stderr, for when tqdm is not installed."""

    def __init__(self, total: int | None) -> None:
        self.total, self.n = total, 0

    def update(self, n: int) -> None:
        self.n += n
        shown = f"{self.n:.1f} bytes" if self.total is None else f"{100 * self.n / self.total:.1f}%"
        sys.stderr.write(f"\r{shown}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def _progress_bar(total: int | None, progress: bool) -> Any:
    """tqdm's bar when asked for and installed (imported only then), else the plain counter."""
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return _Progress(total)
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)


def _open_partial(dst: str) -> IO[bytes]:
    """A new temporary file beside ``dst``: a broken download never replaces a good file, and
    the final move stays on one file system."""
    for _ in range(100):
        try:
            return open(f"{dst}.{uuid.uuid4().hex}.partial", "xb")  # noqa: SIM115 - closed by caller
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found")


def _copy_response(response: Any, f: IO[bytes], sha256: Any, progress: bool) -> None:
    """Copy the body of ``response`` into ``f`` chunk by chunk, hashing and showing progress."""
    length = response.info().get_all("Content-Length")
    bar = _progress_bar(int(length[0]) if length else None, progress)
    try:
        while chunk := response.read(_CHUNK):
            f.write(chunk)
            if sha256 is not None:
                sha256.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()


def download_url_to_file(
    url: str, dst: str, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` (any scheme urllib opens, ``file://`` included) to the path ``dst``.

    The bytes go to a temporary file in ``dst``'s folder, moved to ``dst`` once complete.

    Args:
        url: the address of the object.
        dst: where to save it (``~`` expanded).
        hash_prefix: if given, the SHA-256 hex digest of the download must start with it, else
            ``RuntimeError`` (and ``dst`` is left untouched).
        progress: show a progress bar on stderr (tqdm's when installed).
    """
    dst = os.path.expanduser(dst)
    f = _open_partial(dst)
    try:
        sha256 = hashlib.sha256() if hash_prefix is not None else None
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as response:
            _copy_response(response, f, sha256, progress)
        f.close()
        if sha256 is not None:
            digest = sha256.hexdigest()
            if digest[: len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(f.name, dst)
    finally:
        f.close()
        if os.path.exists(f.name):
            os.remove(f.name)


# --- checkpoints by URL ------------------------------------------------------------------------


def _safe_extract(archive: zipfile.ZipFile, folder: str) -> None:
    """Extract ``archive`` into ``folder``, refusing any member that would land outside it."""
    root = Path(folder).resolve()
    for member in archive.infolist():
        name = os.path.normpath(member.filename)
        if name.startswith(("/", "\\")) or (name[1:2] == ":" and name[0].isalpha()):
            raise ValueError(f"Archive entry has absolute path: {member.filename}")
        if ".." in re.split(r"[/\\]", name):
            raise ValueError(f"Archive entry contains directory traversal: {member.filename}")
        if not (root / name).resolve().is_relative_to(root):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")
        archive.extract(member, root)


def _is_legacy_zip(path: str) -> bool:
    """A zip holding exactly one file: a pre-1.6 checkpoint some users zipped by hand (today's
    checkpoints are zips too, but of many entries)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    return len(members) == 1 and not members[0].is_dir()


def _load_legacy_zip(path: str, model_dir: str, map_location: Any, weights_only: bool) -> Any:
    warnings.warn(
        "Falling back to the old format < 1.6. This support will be deprecated in favor of "
        "default zipfile format introduced in 1.6. Please redo torch.save() to save it in the "
        "new zipfile format.",
        FutureWarning,
        stacklevel=3,
    )
    with zipfile.ZipFile(path) as archive:
        _safe_extract(archive, model_dir)
        extracted = os.path.join(model_dir, archive.infolist()[0].filename)
    return _ember_load(extracted, map_location, weights_only)


def _ember_load(path: str, map_location: Any, weights_only: bool) -> Any:
    from .serialization import load

    return load(path, map_location=map_location, weights_only=weights_only)


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = False,
) -> dict[str, Any]:
    """Load the checkpoint at ``url``, downloading it only if it is not cached yet.

    Args:
        url: the checkpoint's address (``file://`` works too).
        model_dir: the cache folder; default ``<get_dir()>/checkpoints``.
        map_location: passed to :func:`ember.load`.
        progress: show a progress bar on stderr while downloading.
        check_hash: verify the download against the hash prefix in the file name
            (``name-<sha256 prefix>.ext``, as PyTorch's model zoo names files).
        file_name: the cached file's name; default the last part of the URL's path.
        weights_only: passed to :func:`ember.load` (``False`` by default, as in PyTorch: only
            for checkpoints you trust).

    Example:
        >>> sd = ember.hub.load_state_dict_from_url("file:///tmp/linear-2f0a1b3c.pth")
    """
    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn(
            "TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead", stacklevel=2
        )
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match and match.group(1), progress=progress)
    if _is_legacy_zip(cached_file):
        return _load_legacy_zip(cached_file, model_dir, map_location, weights_only)
    return _ember_load(cached_file, map_location, weights_only)


# --- hubconf.py --------------------------------------------------------------------------------


@contextlib.contextmanager
def _on_sys_path(folder: str) -> Iterator[None]:
    """``folder`` first on ``sys.path`` for the block, so hubconf.py imports its siblings."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)


def _import_hubconf(folder: str) -> ModuleType:
    """Run ``folder/hubconf.py`` as a fresh module, kept out of ``sys.modules``: two
    repositories' hubconf files never see each other."""
    path = os.path.join(folder, "hubconf.py")
    spec = importlib.util.spec_from_file_location("hubconf.py", path)
    if spec is None or spec.loader is None:
        raise AssertionError(f"failed to load spec from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entrypoint(hubconf: ModuleType, model: str) -> Callable:
    """The callable ``model`` of ``hubconf``, after checking its ``dependencies`` are installed."""
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    missing = [
        name
        for name in getattr(hubconf, "dependencies", ())
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    entry = getattr(hubconf, model, None)
    if entry is None or not callable(entry):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return entry


# --- GitHub repositories -----------------------------------------------------------------------


def _parse_repo_info(github: str) -> tuple[str, str, str]:
    """``owner/name[:ref]`` -> (owner, name, ref); without a ref, ``main`` if the repository has
    that branch, else ``master`` (offline: whichever of the two is cached)."""
    repo_info, ref = github.split(":") if ":" in github else (github, None)
    owner, name = repo_info.split("/")
    if ref is not None:
        return owner, name, ref
    try:
        with urlopen(f"https://github.com/{owner}/{name}/tree/main/"):
            return owner, name, "main"
    except HTTPError as e:
        if e.code != 404:
            raise
        return owner, name, "master"
    except URLError as e:
        for ref in ("main", "master"):
            if os.path.exists(f"{get_dir()}/{owner}_{name}_{ref}"):
                return owner, name, ref
        raise RuntimeError(
            "It looks like there is no internet connection and the "
            f"repo could not be found in the cache ({get_dir()})"
        ) from e


def _check_repo_is_trusted(owner: str, name: str, folder_name: str, trust_repo: Any) -> None:
    """PyTorch's trust rule: a repository is trusted if listed in ``<hub_dir>/trusted_list``,
    already cached (downloaded before the list existed) or owned by PyTorch's own organisations;
    otherwise (or with ``trust_repo=False``) the user is asked. A trusted repository is listed."""
    hub_dir = get_dir()
    list_path = os.path.join(hub_dir, "trusted_list")
    if not os.path.exists(list_path):
        Path(list_path).touch()
    with open(list_path) as f:
        listed = {line.strip() for line in f}
    owner_name = f"{owner}_{name}"
    trusted = (
        owner_name in listed
        or os.path.isdir(os.path.join(hub_dir, folder_name))
        or owner in _TRUSTED_REPO_OWNERS
    )
    if trust_repo is False or (trust_repo == "check" and not trusted):
        answer = input(
            f"The repository {owner_name} does not belong to the list of trusted repositories "
            "and as such cannot be downloaded. Do you trust this repository and wish to add it "
            "to the trusted list of repositories (y/N)?"
        ).lower()
        if answer in ("n", "no", ""):
            raise Exception("Untrusted repository.")
        if answer not in ("y", "yes"):
            raise ValueError(f"Unrecognized response {answer}.")
        if trusted:
            print("The repository is already trusted.")
    if not trusted:
        with open(list_path, "a") as f:
            f.write(owner_name + "\n")


def _validate_not_a_forked_repo(owner: str, name: str, ref: str) -> None:
    """Check through GitHub's API that ``ref`` is a branch, tag or commit of ``owner/name``
    itself: GitHub serves a fork's commits under the parent's name too."""
    headers = {"Accept": "application/vnd.github.v3+json"}
    if (token := os.environ.get("GITHUB_TOKEN")) is not None:
        headers["Authorization"] = f"token {token}"
    for kind in ("branches", "tags"):
        page = 0
        while True:
            page += 1
            url = f"https://api.github.com/repos/{owner}/{name}/{kind}?per_page=100&page={page}"
            try:
                items = _read_json(Request(url, headers=headers))
            except HTTPError:  # a token without the rights: try once more without it
                headers.pop("Authorization", None)
                items = _read_json(Request(url, headers=headers))
            if not items:
                break
            if any(it["name"] == ref or it["commit"]["sha"].startswith(ref) for it in items):
                return
    raise ValueError(
        f"Cannot find {ref} in https://github.com/{owner}/{name}. "
        "If it's a commit from a forked repo, please call hub.load() with forked repo directly."
    )


def _read_json(request: Request) -> Any:
    with urlopen(request) as r:
        return json.loads(r.read().decode(r.headers.get_content_charset("utf-8")))


def _download_zipball(owner: str, name: str, ref: str, zip_path: str) -> None:
    url = f"https://github.com/{owner}/{name}/zipball/{ref}"
    sys.stdout.write(f'Downloading: "{url}" to {zip_path}\n')
    try:
        download_url_to_file(url, zip_path, progress=False)
    except HTTPError as err:
        if err.code != 300:
            raise
        # 300 Multiple Choices: the ref names both a tag and a branch; take the branch, as git
        warnings.warn(
            f"The ref {ref} is ambiguous. Perhaps it is both a tag and a branch in the repo? "
            "Torchhub will now assume that it's a branch. You can disambiguate tags and branches "
            "by explicitly passing refs/heads/branch_name or refs/tags/tag_name as the ref. That "
            "might require using skip_validation=True.",
            stacklevel=5,  # the caller of load/list/help
        )
        url = f"https://github.com/{owner}/{name}/zipball/refs/heads/{ref}"
        download_url_to_file(url, zip_path, progress=False)


def _remove(path: str) -> None:
    if os.path.isfile(path):
        os.remove(path)
    elif os.path.exists(path):
        shutil.rmtree(path)


def _get_cache_or_reload(
    github: str, force_reload: bool, trust_repo: Any, verbose: bool, skip_validation: bool
) -> str:
    """The folder of repository ``github`` in the hub cache, downloading it if needed."""
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    owner, name, ref = _parse_repo_info(github)
    # a branch name may hold '/', which must not become a path separator
    folder_name = f"{owner}_{name}_{ref.replace('/', '_')}"
    repo_dir = os.path.join(hub_dir, folder_name)
    _check_repo_is_trusted(owner, name, folder_name, trust_repo)
    if not force_reload and os.path.exists(repo_dir):
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    if not skip_validation:
        _validate_not_a_forked_repo(owner, name, ref)
    zip_path = os.path.join(hub_dir, ref.replace("/", "_") + ".zip")
    _remove(zip_path)
    _download_zipball(owner, name, ref, zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        # GitHub's zipball holds one folder named after owner, repository and commit
        top = archive.infolist()[0].filename.split("/")[0]
        extracted = os.path.join(hub_dir, top)
        _remove(extracted)
        _safe_extract(archive, hub_dir)
    _remove(zip_path)
    _remove(repo_dir)
    shutil.move(extracted, repo_dir)
    return repo_dir


# --- the public entry points -------------------------------------------------------------------


def list(  # noqa: A001 - PyTorch's name
    github: str,
    force_reload: bool = False,
    skip_validation: bool = False,
    trust_repo: bool | str | None = "check",
    verbose: bool = True,
    *,
    source: str = "github",
) -> builtins.list[str]:
    """The names of the entrypoints (public callables) of a repository's ``hubconf.py``.

    Args:
        github: ``"owner/name[:ref]"`` (default ref ``main`` if present, else ``master``), or a
            local folder with ``source='local'``.
        force_reload: download the repository again even if cached.
        skip_validation: skip checking (through GitHub's API) that the ref belongs to the owner.
        trust_repo: ``"check"`` (ask unless trusted), ``True`` (trust and record) or ``False``
            (always ask).
        verbose: report when the cache is used.
        source: ``'github'`` or ``'local'`` (an ember addition: PyTorch's ``list`` reads GitHub
            repositories only).
    """
    repo_dir = _repo_dir(github, source, force_reload, trust_repo, verbose, skip_validation)
    with _on_sys_path(repo_dir):
        hubconf = _import_hubconf(repo_dir)
    # names starting with '_' are the hubconf's private helpers
    return [n for n in dir(hubconf) if callable(getattr(hubconf, n)) and not n.startswith("_")]


def help(  # noqa: A001 - PyTorch's name
    github: str,
    model: str,
    force_reload: bool = False,
    skip_validation: bool = False,
    trust_repo: bool | str | None = "check",
    *,
    source: str = "github",
) -> str | None:
    """The docstring of entrypoint ``model`` of a repository's ``hubconf.py`` (arguments as
    :func:`list`)."""
    repo_dir = _repo_dir(github, source, force_reload, trust_repo, True, skip_validation)
    with _on_sys_path(repo_dir):
        hubconf = _import_hubconf(repo_dir)
    return _entrypoint(hubconf, model).__doc__


def load(
    repo_or_dir: str,
    model: str,
    *args: Any,
    source: str = "github",
    trust_repo: bool | str | None = "check",
    force_reload: bool = False,
    verbose: bool = True,
    skip_validation: bool = False,
    **kwargs: Any,
) -> Any:
    """Call entrypoint ``model`` of a repository's ``hubconf.py`` with ``*args``/``**kwargs``
    and return what it returns (usually a model).

    Args:
        repo_or_dir: ``"owner/name[:ref]"`` with ``source='github'``, a folder with
            ``source='local'``.
        model: the entrypoint's name.
        source: ``'github'`` (download the repository into :func:`get_dir`) or ``'local'``.
        trust_repo, force_reload, verbose, skip_validation: as for :func:`list` (GitHub only).

    Example:
        >>> net = ember.hub.load("path/to/repo", "tiny_net", source="local", width=8)
    """
    repo_dir = _repo_dir(repo_or_dir, source, force_reload, trust_repo, verbose, skip_validation)
    with _on_sys_path(repo_dir):
        entry = _entrypoint(_import_hubconf(repo_dir), model)
        return entry(*args, **kwargs)


def _repo_dir(
    repo_or_dir: str,
    source: str,
    force_reload: bool,
    trust_repo: Any,
    verbose: bool,
    skip_validation: bool,
) -> str:
    """The folder holding ``hubconf.py``: the local one, or the cached GitHub repository."""
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    return _get_cache_or_reload(repo_or_dir, force_reload, trust_repo, verbose, skip_validation)
