"""ember.hub against torch.hub: checkpoints by (file://) URL, the cache, hash checks, hubconf.py
repositories (local folders and GitHub zipballs served by a stand-in for ``urlopen``).

Nothing here touches the real ~/.cache: every test gets its own TORCH_HOME, and both hubs'
``set_dir`` state is reset around it. The machine has no network: GitHub is never reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np
import pytest
import torch
import torch.hub

import ember
import ember.hub

HUBS = (ember.hub, torch.hub)

HUBCONF = '''
dependencies = ["json"]

import hub_test_sibling  # a module beside hubconf.py: importable while it runs

SCALE = 3


def linear(lib, in_features, out_features, bias=True):
    """A Linear layer of ``lib`` (ember or torch) with weights 0, 0.1, 0.2, ..."""
    layer = lib.nn.Linear(in_features, out_features, bias=bias)
    with lib.no_grad():
        n = in_features * out_features
        layer.weight.copy_(lib.arange(n, dtype=lib.float32).reshape(out_features, in_features) / 10)
        if bias:
            layer.bias.fill_(hub_test_sibling.BIAS)
    return layer


def scaled(x):
    return x * SCALE


def _helper():
    return None
'''


@pytest.fixture(autouse=True)
def _private_hub_dirs(tmp_path, monkeypatch):
    """Fresh cache settings for both hubs; the sibling module imported by hubconf.py forgotten."""
    for hub in HUBS:
        monkeypatch.setattr(hub, "_hub_dir", None)
    for name in ("XDG_CACHE_HOME", "TORCH_HUB", "TORCH_MODEL_ZOO", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    yield
    sys.modules.pop("hub_test_sibling", None)


def _write_repo(folder: Path, hubconf: str = HUBCONF) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hubconf.py").write_text(hubconf)
    (folder / "hub_test_sibling.py").write_text("BIAS = 0.5\n")
    return folder


def _checkpoint(path: Path) -> dict:
    """A state dict saved by real torch at ``path``."""
    torch.manual_seed(0)
    sd = torch.nn.Linear(4, 3).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    return sd


def _assert_same_state(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for k in theirs:
        assert isinstance(ours[k], ember.Tensor)
        np.testing.assert_array_equal(ours[k].numpy(), theirs[k].numpy())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _each_hub_in(tmp_path: Path):
    """Each hub with its own cache folder, so one never finds the other's downloads."""
    for hub in HUBS:
        hub.set_dir(tmp_path / f"cache_{hub.__name__}")
        yield hub


# --- the cache directory ---------------------------------------------------------------------


def test_get_dir_follows_the_environment_as_torch(tmp_path, monkeypatch):
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "torch_home" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home/.cache/torch/hub")
    monkeypatch.setenv("TORCH_HOME", "~/th")  # '~' is expanded in TORCH_HOME too
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home" / "th" / "hub")


def test_set_dir_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for hub in HUBS:
        hub.set_dir("~/my_hub")
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home" / "my_hub")
    for hub in HUBS:
        hub.set_dir(tmp_path / "as_path")  # an os.PathLike is accepted and kept as given
    assert ember.hub.get_dir() == torch.hub.get_dir()


def test_deprecated_environment_variables_warn(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HUB", "x")
    with pytest.warns(UserWarning, match="TORCH_HUB is deprecated"):
        ember.hub.get_dir()
    monkeypatch.delenv("TORCH_HUB")
    monkeypatch.setenv("TORCH_MODEL_ZOO", "x")
    _checkpoint(tmp_path / "src" / "m.pth")
    with pytest.warns(UserWarning, match="TORCH_MODEL_ZOO is deprecated"):
        ember.hub.load_state_dict_from_url((tmp_path / "src" / "m.pth").as_uri(), progress=False)


# --- download_url_to_file --------------------------------------------------------------------


@pytest.mark.parametrize("with_hash", [False, True])
def test_download_url_to_file(tmp_path, with_hash, capsys):
    src = tmp_path / "src" / "blob.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(300_000))  # more than one read chunk
    prefix = _sha256(src)[:10] if with_hash else None
    for hub in HUBS:
        dst = tmp_path / f"out_{hub.__name__}" / "blob.bin"
        dst.parent.mkdir()
        hub.download_url_to_file(src.as_uri(), str(dst), prefix, progress=False)
        assert dst.read_bytes() == src.read_bytes()
        assert os.listdir(dst.parent) == ["blob.bin"]  # no temporary file left behind
    assert capsys.readouterr().err == ""  # progress=False: silent


def test_download_hash_mismatch_raises_as_torch(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"ember" * 1000)
    errors = []
    for hub in HUBS:
        dst = tmp_path / f"out_{hub.__name__}"
        dst.mkdir()
        with pytest.raises(RuntimeError) as e:
            hub.download_url_to_file(src.as_uri(), str(dst / "blob.bin"), "0123abcd", False)
        errors.append(str(e.value))
        assert os.listdir(dst) == []  # neither the file nor its temporary remains
    assert errors[0] == errors[1]
    assert errors[0].startswith('invalid hash value (expected "0123abcd", got "')


def test_download_progress_goes_to_stderr(tmp_path, capsys, monkeypatch):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"x" * 4096)
    ember.hub.download_url_to_file(src.as_uri(), str(tmp_path / "a.bin"))
    out = capsys.readouterr()
    assert out.out == "" and out.err != ""  # tqdm's bar (tqdm is installed here)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    ember.hub.download_url_to_file(src.as_uri(), str(tmp_path / "b.bin"))
    out = capsys.readouterr()
    assert out.out == "" and out.err == "\r100.0%\n"


def test_download_of_a_missing_url_raises_urlerror(tmp_path):
    for hub in HUBS:
        with pytest.raises(URLError):
            hub.download_url_to_file((tmp_path / "nope").as_uri(), str(tmp_path / "x"), None, False)
    assert sorted(os.listdir(tmp_path)) == []


# --- load_state_dict_from_url ----------------------------------------------------------------


def test_load_state_dict_from_url_matches_torch(tmp_path, capsys):
    src = tmp_path / "src" / "linear.pth"
    _checkpoint(src)
    loaded = {}
    for hub in _each_hub_in(tmp_path):
        loaded[hub] = hub.load_state_dict_from_url(src.as_uri(), progress=False)
        cached = Path(hub.get_dir()) / "checkpoints" / "linear.pth"
        assert cached.read_bytes() == src.read_bytes()
        out = capsys.readouterr().out
        assert out == f'Downloading: "{src.as_uri()}" to {cached}\n'
    _assert_same_state(loaded[ember.hub], loaded[torch.hub])


def test_cached_checkpoint_is_reused_without_reading_the_url(tmp_path, capsys):
    src = tmp_path / "src" / "linear.pth"
    theirs = _checkpoint(src)
    first = ember.hub.load_state_dict_from_url(src.as_uri(), progress=False)
    src.unlink()  # a second download would fail now
    capsys.readouterr()
    again = ember.hub.load_state_dict_from_url(src.as_uri(), progress=False)
    assert capsys.readouterr().out == ""  # nothing downloaded
    _assert_same_state(first, theirs)
    _assert_same_state(again, theirs)


def test_model_dir_file_name_and_load_options(tmp_path):
    src = tmp_path / "src" / "weights.bin"
    theirs = _checkpoint(src)
    for hub in HUBS:
        model_dir = tmp_path / f"models_{hub.__name__}"
        sd = hub.load_state_dict_from_url(
            src.as_uri(),
            model_dir=str(model_dir),
            map_location="cpu",
            progress=False,
            file_name="renamed.pth",
            weights_only=True,
        )
        assert os.listdir(model_dir) == ["renamed.pth"]
        if hub is ember.hub:
            _assert_same_state(sd, theirs)
    assert not os.path.exists(ember.hub.get_dir())  # the default cache was never created


def test_check_hash_accepts_a_matching_name(tmp_path):
    scratch = tmp_path / "scratch.pth"
    theirs = _checkpoint(scratch)
    src = tmp_path / "src" / f"linear-{_sha256(scratch)[:8]}.pth"
    src.parent.mkdir()
    shutil.copy(scratch, src)
    loaded = {}
    for hub in _each_hub_in(tmp_path):
        loaded[hub] = hub.load_state_dict_from_url(src.as_uri(), progress=False, check_hash=True)
    _assert_same_state(loaded[ember.hub], theirs)
    _assert_same_state(loaded[ember.hub], loaded[torch.hub])


def test_check_hash_mismatch_raises_as_torch(tmp_path):
    src = tmp_path / "src" / "linear-deadbeef.pth"
    _checkpoint(src)
    errors = []
    for hub in _each_hub_in(tmp_path):
        with pytest.raises(RuntimeError) as e:
            hub.load_state_dict_from_url(src.as_uri(), progress=False, check_hash=True)
        errors.append(str(e.value))
        assert os.listdir(Path(hub.get_dir()) / "checkpoints") == []
    assert (
        errors[0]
        == errors[1]
        == (f'invalid hash value (expected "deadbeef", got "{_sha256(src)}")')
    )
    # without check_hash the name's hash is not checked
    _assert_same_state(
        ember.hub.load_state_dict_from_url(src.as_uri(), progress=False),
        torch.load(src),
    )


def test_legacy_zip_of_one_checkpoint(tmp_path):
    """A pre-1.6 checkpoint zipped by hand: extracted next to the zip and loaded, with a warning."""
    old = tmp_path / "old.pth"
    torch.manual_seed(1)
    torch.save(torch.nn.Linear(2, 2).state_dict(), old, _use_new_zipfile_serialization=False)
    src = tmp_path / "src" / "legacy.zip"
    src.parent.mkdir()
    with zipfile.ZipFile(src, "w") as z:
        z.write(old, "old.pth")
    loaded = {}
    for hub in _each_hub_in(tmp_path):
        with pytest.warns(FutureWarning, match="Falling back to the old format < 1.6"):
            loaded[hub] = hub.load_state_dict_from_url(src.as_uri(), progress=False)
        assert sorted(os.listdir(Path(hub.get_dir()) / "checkpoints")) == ["legacy.zip", "old.pth"]
    _assert_same_state(loaded[ember.hub], loaded[torch.hub])


def test_a_zip_escaping_its_folder_is_refused(tmp_path):
    src = tmp_path / "src" / "evil.zip"
    src.parent.mkdir()
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("../evil.pth", b"x")
    for hub in _each_hub_in(tmp_path):
        with (
            pytest.warns(FutureWarning, match="old format"),
            pytest.raises(ValueError, match="directory traversal: ../evil.pth"),
        ):
            hub.load_state_dict_from_url(src.as_uri(), progress=False)
    assert not (tmp_path / "evil.pth").exists()


# --- hubconf.py in a local folder ------------------------------------------------------------


def test_load_local_calls_the_entrypoint(tmp_path):
    repo = str(_write_repo(tmp_path / "repo"))
    path_before = list(sys.path)
    ours = ember.hub.load(repo, "linear", ember, 3, 2, source="local")
    theirs = torch.hub.load(repo, "linear", torch, 3, 2, source="LOCAL")
    assert sys.path == path_before
    assert isinstance(ours, ember.nn.Linear)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(
        ours(ember.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy()
    )
    no_bias = ember.hub.load(repo, "linear", ember, 3, 2, source="local", bias=False)
    assert no_bias.bias is None
    assert ember.hub.load(repo, "scaled", 2, source="local") == torch.hub.load(
        repo, "scaled", 2, source="local"
    )


def test_local_list_and_help(tmp_path):
    repo = str(_write_repo(tmp_path / "repo"))
    assert ember.hub.list(repo, source="local") == ["linear", "scaled"]
    assert ember.hub.help(repo, "linear", source="local") == (
        "A Linear layer of ``lib`` (ember or torch) with weights 0, 0.1, 0.2, ..."
    )
    assert ember.hub.help(repo, "scaled", source="local") is None


def test_missing_dependency_raises_as_torch(tmp_path):
    hubconf = HUBCONF.replace('["json"]', '["json", "no_such_module_x", "no_such_module_y"]')
    repo = str(_write_repo(tmp_path / "repo", hubconf))
    errors = []
    for hub in HUBS:
        with pytest.raises(RuntimeError) as e:
            hub.load(repo, "scaled", 2, source="local")
        errors.append(str(e.value))
    assert errors[0] == errors[1] == "Missing dependencies: no_such_module_x, no_such_module_y"


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("nothing", RuntimeError),
        ("SCALE", RuntimeError),
        ("_absent", RuntimeError),
        (3, ValueError),
    ],
)
def test_bad_entrypoint_raises_as_torch(tmp_path, model, error):
    repo = str(_write_repo(tmp_path / "repo"))
    errors = []
    for hub in HUBS:
        with pytest.raises(error) as e:
            hub.load(repo, model, source="local")
        errors.append(str(e.value))
    assert errors[0] == errors[1]


# --- GitHub repositories: parsing, the cache, trust ------------------------------------------


@pytest.mark.parametrize("repo", ["noslash", "a/b/c", "a/b:c:d", "a:b"])
def test_bad_repo_strings_raise_as_torch(repo, monkeypatch):
    _no_network(monkeypatch)
    errors = []
    for hub in HUBS:
        for call, args in ((hub.load, (repo, "m")), (hub.list, (repo,))):
            with pytest.raises(ValueError) as e:
                call(*args)
            errors.append(str(e.value))
    assert len(set(errors)) == 1


def test_unknown_source_raises_as_torch():
    errors = []
    for hub in HUBS:
        with pytest.raises(ValueError) as e:
            hub.load("a/b", "m", source="svn")
        errors.append(str(e.value))
    assert errors[0] == errors[1] == 'Unknown source: "svn". Allowed values: "github" | "local".'
    with pytest.raises(ValueError, match='Unknown source: "svn"'):
        ember.hub.list("a/b", source="svn")


def _no_network(monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("no network in the tests")

    for hub in HUBS:
        monkeypatch.setattr(hub, "urlopen", offline)


def test_cached_repository_is_used_offline(tmp_path, monkeypatch, capsys):
    """A repository folder already in the cache is trusted and used without any download."""
    _no_network(monkeypatch)
    for hub in _each_hub_in(tmp_path):
        _write_repo(Path(hub.get_dir()) / "alice_models_v1")
        assert hub.list("alice/models:v1") == ["linear", "scaled"]
        folder = Path(hub.get_dir()) / "alice_models_v1"
        assert capsys.readouterr().err == f"Using cache found in {folder}\n"
        assert hub.list("alice/models:v1", verbose=False) == ["linear", "scaled"]
        assert capsys.readouterr().err == ""
        assert hub.help("alice/models:v1", "linear").startswith("A Linear layer")
        assert capsys.readouterr().err == f"Using cache found in {folder}\n"  # always verbose
        assert hub.load("alice/models:v1", "scaled", 5, verbose=False) == 15
        # the cached folder counts as trusted: nothing is added to the trusted list
        assert (Path(hub.get_dir()) / "trusted_list").read_text() == ""


def test_without_a_ref_offline_the_cached_default_branch_is_used(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    errors = []
    for hub in HUBS:
        hub.set_dir(tmp_path / "shared")  # the message names the cache folder
        with pytest.raises(RuntimeError) as e:
            hub.list("alice/models")
        errors.append(str(e.value))
    assert (
        errors[0]
        == errors[1]
        == (
            "It looks like there is no internet connection and the repo could not be found in the "
            f"cache ({tmp_path / 'shared'})"
        )
    )
    _write_repo(tmp_path / "shared" / "alice_models_master")
    for hub in HUBS:
        assert hub.load("alice/models", "scaled", 1, verbose=False) == 3


def test_trust_repo_true_records_the_repository(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    for hub in _each_hub_in(tmp_path):
        with pytest.raises(URLError):  # trusted, then the download fails: no network
            hub.load("alice/models:v2", "m", trust_repo=True, skip_validation=True)
        assert (Path(hub.get_dir()) / "trusted_list").read_text() == "alice_models\n"
        with pytest.raises(URLError):  # now trusted without asking
            hub.load("alice/models:v2", "m", skip_validation=True)
        assert (Path(hub.get_dir()) / "trusted_list").read_text() == "alice_models\n"


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ("", Exception, "Untrusted repository."),
        ("no", Exception, "Untrusted repository."),
        ("maybe", ValueError, "Unrecognized response maybe."),
    ],
)
def test_untrusted_repository_asks_as_torch(tmp_path, monkeypatch, answer, error, message):
    _no_network(monkeypatch)
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or answer)
    for hub in _each_hub_in(tmp_path):
        with pytest.raises(error) as e:
            hub.load("alice/models:v1", "m")
        assert str(e.value) == message
        assert (Path(hub.get_dir()) / "trusted_list").read_text() == ""
    assert len(prompts) == 2 and prompts[0] == prompts[1]
    assert prompts[0].startswith("The repository alice_models does not belong to the list")


def test_answering_yes_trusts_and_pytorch_owners_are_trusted(tmp_path, monkeypatch, capsys):
    _no_network(monkeypatch)
    monkeypatch.setattr("builtins.input", lambda prompt: "Y")
    for hub in _each_hub_in(tmp_path):
        with pytest.raises(URLError):
            hub.load("alice/models:v1", "m", skip_validation=True)
        with pytest.raises(URLError):  # pytorch/* is trusted without being listed
            hub.load("pytorch/vision:v0", "m", skip_validation=True, trust_repo="check")
        assert (Path(hub.get_dir()) / "trusted_list").read_text() == "alice_models\n"
        _write_repo(Path(hub.get_dir()) / "alice_models_v1")
        capsys.readouterr()
        assert hub.load("alice/models:v1", "scaled", 1, trust_repo=False, verbose=False) == 3
        assert capsys.readouterr().out == "The repository is already trusted.\n"


# --- GitHub repositories: the download, served from local files ------------------------------


def _fake_github(
    tmp_path: Path, monkeypatch, branches: list[dict], ambiguous: bool = False
) -> list[str]:
    """Serve GitHub's API and a zipball of a hubconf repository from local files; return the
    list of URLs asked for. ``ambiguous``: the ref names a tag and a branch (HTTP 300)."""
    repo = _write_repo(tmp_path / "upstream")
    zipball = tmp_path / "served" / "zipball.zip"
    zipball.parent.mkdir()
    with zipfile.ZipFile(zipball, "w") as z:
        z.mkdir("alice-models-abc1234")  # GitHub's zipball: the folder first, then its files
        for f in sorted(repo.iterdir()):
            z.write(f, f"alice-models-abc1234/{f.name}")
    (tmp_path / "served" / "branches.json").write_text(json.dumps(branches))
    (tmp_path / "served" / "empty.json").write_text("[]")
    asked: list[str] = []

    def fake_urlopen(request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        asked.append(url)
        if url == "https://api.github.com/repos/alice/models/branches?per_page=100&page=1":
            served = "branches.json"
        elif url.startswith("https://api.github.com/repos/alice/models/"):
            served = "empty.json"
        elif url == "https://github.com/alice/models/zipball/dev" and ambiguous:
            raise HTTPError(url, 300, "Multiple Choices", {}, None)
        elif url in (
            "https://github.com/alice/models/zipball/dev",
            "https://github.com/alice/models/zipball/refs/heads/dev",
        ):
            served = "zipball.zip"
        else:
            raise URLError(f"unexpected {url}")
        return urllib.request.urlopen((tmp_path / "served" / served).as_uri())

    for hub in HUBS:
        monkeypatch.setattr(hub, "urlopen", fake_urlopen)
    return asked


def test_github_repository_is_downloaded_validated_and_cached(tmp_path, monkeypatch, capsys):
    asked = _fake_github(tmp_path, monkeypatch, [{"name": "dev", "commit": {"sha": "abc1234"}}])
    for hub in _each_hub_in(tmp_path):
        net = hub.load("alice/models:dev", "linear", ember, 2, 2, trust_repo=True)
        assert isinstance(net, ember.nn.Linear) and net.bias.tolist() == [0.5, 0.5]
        hub_dir = Path(hub.get_dir())
        assert sorted(os.listdir(hub_dir)) == ["alice_models_dev", "trusted_list"]
        assert sorted(os.listdir(hub_dir / "alice_models_dev")) == [
            "hub_test_sibling.py",
            "hubconf.py",
        ]
        zip_path = hub_dir / "dev.zip"
        url = "https://github.com/alice/models/zipball/dev"
        assert capsys.readouterr().out == f'Downloading: "{url}" to {zip_path}\n'
        assert hub.list("alice/models:dev", verbose=False) == ["linear", "scaled"]  # cached
        sys.modules.pop("hub_test_sibling", None)
    first_download = asked[: len(asked) // 2]
    assert asked == first_download * 2  # both hubs asked for the same URLs in the same order
    assert first_download == [
        "https://api.github.com/repos/alice/models/branches?per_page=100&page=1",
        "https://github.com/alice/models/zipball/dev",
    ]


def test_a_ref_not_in_the_repository_is_refused_as_torch(tmp_path, monkeypatch):
    _fake_github(tmp_path, monkeypatch, [{"name": "main", "commit": {"sha": "fff0000"}}])
    errors = []
    for hub in _each_hub_in(tmp_path):
        with pytest.raises(ValueError) as e:
            hub.list("alice/models:dev", trust_repo=True)
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith("Cannot find dev in https://github.com/alice/models.")


def test_an_ambiguous_ref_is_taken_as_the_branch(tmp_path, monkeypatch):
    asked = _fake_github(tmp_path, monkeypatch, [], ambiguous=True)
    for hub in _each_hub_in(tmp_path):
        with pytest.warns(UserWarning, match="The ref dev is ambiguous") as caught:
            assert (
                hub.load("alice/models:dev", "scaled", 2, skip_validation=True, trust_repo=True)
                == 6
            )
        if hub is ember.hub:  # ember's warning points at the caller (PyTorch's at its hub.py)
            assert caught[0].filename == __file__
        sys.modules.pop("hub_test_sibling", None)
    assert asked == 2 * [
        "https://github.com/alice/models/zipball/dev",
        "https://github.com/alice/models/zipball/refs/heads/dev",
    ]
