"""A site's own models: installed atomically, listed with their hash, signed with the site key.

An edited list is refused (ConfigError), a swapped file is refused on every load
(ModelIntegrityError), a failed or killed install leaves nothing half-written (R-28).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from facegate.cli.context import Context
from facegate.errors import ConfigError, ModelIntegrityError
from facegate.models.registry import ModelRegistry
from facegate.models.site import (
    SITE_MODELS_FORMAT,
    apply_site_models,
    install_site_model,
    site_models_dir,
    site_models_path,
)
from facegate.store.audit import canonical_json
from facegate.store.crypto import SiteKey

KEY = SiteKey(bytes(range(32)))
NAME = "site_test_detector"
LICENCE = "site-trained"
SOURCE = "facegate detector train (test)"
#: Bytes of a stand-in model file: the registry hashes files, it does not parse them.
WEIGHTS = b"facegate site model weights " * 1000


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "trained.pt"
    path.write_bytes(WEIGHTS)
    return path


def _install(data_dir: Path, source_file: Path, name: str = NAME) -> None:
    install_site_model(data_dir, KEY, name, "detector", source_file, LICENCE, SOURCE, {"ap50": 0.5})


def _files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in site_models_dir(data_dir).iterdir())


def _write_signed(data_dir: Path, models: dict[str, object], key: SiteKey = KEY) -> None:
    """A list signed as facegate signs one, holding whatever ``models`` says."""
    payload = {"format": SITE_MODELS_FORMAT, "models": models}
    signature = key.sign_config(canonical_json(payload).encode("utf-8"))
    site_models_path(data_dir).parent.mkdir(parents=True, exist_ok=True)
    site_models_path(data_dir).write_text(json.dumps({**payload, "signature": signature}))


def test_installed_model_joins_the_registry_hash_checked(data_dir: Path, weights: Path) -> None:
    entry = install_site_model(
        data_dir, KEY, NAME, "detector", weights, LICENCE, SOURCE, {"ap50": 0.5}
    )
    sha256 = hashlib.sha256(WEIGHTS).hexdigest()
    assert (entry.name, entry.kind, entry.sha256, entry.size_bytes) == (
        NAME,
        "detector",
        sha256,
        len(WEIGHTS),
    )
    assert entry.package is None
    assert entry.directory == site_models_dir(data_dir)
    assert _files(data_dir) == sorted(["site_models.json", f"{NAME}-{sha256[:16]}.pt"])

    packaged = ModelRegistry.default()
    registry = apply_site_models(packaged, data_dir, KEY)
    assert set(registry.names) == set(packaged.names) | {NAME}
    assert registry.entry(NAME) == entry
    assert registry.entry(NAME).published_metrics == {"ap50": 0.5}
    path = registry.verified_path(NAME)
    assert path == site_models_dir(data_dir) / f"{NAME}-{sha256[:16]}.pt"
    assert path.read_bytes() == WEIGHTS
    assert NAME not in packaged.names  # the packaged registry is not changed


def test_no_site_models_leaves_the_registry_as_is(data_dir: Path) -> None:
    registry = ModelRegistry.default()
    assert apply_site_models(registry, data_dir, KEY) is registry


def test_installs_merge_and_a_reinstall_replaces_the_file(
    data_dir: Path, weights: Path, tmp_path: Path
) -> None:
    _install(data_dir, weights)
    _install(data_dir, weights, name="site_other_detector")
    retrained = tmp_path / "retrained.pt"
    retrained.write_bytes(WEIGHTS + b"one more epoch")
    _install(data_dir, retrained)

    registry = apply_site_models(ModelRegistry.default(), data_dir, KEY)
    assert registry.verified_path(NAME).read_bytes() == WEIGHTS + b"one more epoch"
    assert registry.verified_path("site_other_detector").read_bytes() == WEIGHTS
    # The first file of NAME is gone; the other model's copy (same bytes) stays.
    new_hash = hashlib.sha256(WEIGHTS + b"one more epoch").hexdigest()[:16]
    old_hash = hashlib.sha256(WEIGHTS).hexdigest()[:16]
    assert _files(data_dir) == sorted(
        [f"{NAME}-{new_hash}.pt", f"site_other_detector-{old_hash}.pt", "site_models.json"]
    )


@pytest.mark.rule("R-28")
def test_r28_edited_list_is_refused(data_dir: Path, weights: Path, tmp_path: Path) -> None:
    _install(data_dir, weights)
    path = site_models_path(data_dir)
    with pytest.raises(ConfigError, match="signature"):
        apply_site_models(ModelRegistry.default(), data_dir, SiteKey(bytes(32)))  # another site

    # An attacker swaps the file and writes its hash into the list: the signature catches it.
    swapped = tmp_path / "swapped.pt"
    swapped.write_bytes(b"someone else's weights")
    document = json.loads(path.read_text())
    document["models"][NAME]["sha256"] = hashlib.sha256(swapped.read_bytes()).hexdigest()
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="signature does not match"):
        apply_site_models(ModelRegistry.default(), data_dir, KEY)
    # ... and installing again does not re-sign (launder) the edited list.
    with pytest.raises(ConfigError, match="signature does not match"):
        _install(data_dir, swapped, name="site_other_detector")
    assert json.loads(path.read_text()) == document

    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid site model list"):
        apply_site_models(ModelRegistry.default(), data_dir, KEY)


@pytest.mark.rule("R-28")
def test_r28_swapped_file_is_refused_on_every_load(data_dir: Path, weights: Path) -> None:
    _install(data_dir, weights)
    registry = apply_site_models(ModelRegistry.default(), data_dir, KEY)
    path = registry.verified_path(NAME)  # intact: accepted
    path.write_bytes(WEIGHTS[:-1] + b"!")  # one byte changed after an earlier check
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        registry.verified_path(NAME)
    path.unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.verified_path(NAME)


class _Killed(BaseException):
    """Stands for the process being stopped mid-install (like KeyboardInterrupt)."""


def _fail(copy: Path) -> None:
    assert copy.read_bytes().startswith(WEIGHTS[:100])  # the check sees the copy, fully written
    raise _Killed


def test_failed_install_leaves_nothing_half_written(
    data_dir: Path, weights: Path, tmp_path: Path
) -> None:
    with pytest.raises(_Killed):
        install_site_model(data_dir, KEY, NAME, "detector", weights, LICENCE, SOURCE, check=_fail)
    assert _files(data_dir) == []  # no partial copy, no list
    assert apply_site_models(ModelRegistry.default(), data_dir, KEY).names == (
        ModelRegistry.default().names
    )

    # A failed reinstall keeps the installed model, listed and loadable.
    _install(data_dir, weights)
    before = _files(data_dir)
    listing = site_models_path(data_dir).read_bytes()
    retrained = tmp_path / "retrained.pt"
    retrained.write_bytes(b"retrained")
    with pytest.raises(_Killed):
        install_site_model(
            data_dir, KEY, NAME, "detector", retrained, LICENCE, SOURCE, check=_refuse_any
        )
    assert _files(data_dir) == before
    assert site_models_path(data_dir).read_bytes() == listing
    registry = apply_site_models(ModelRegistry.default(), data_dir, KEY)
    assert registry.verified_path(NAME).read_bytes() == WEIGHTS


def _refuse_any(copy: Path) -> None:
    raise _Killed


def test_missing_source_file_installs_nothing(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _install(data_dir, tmp_path / "absent.pt")
    assert _files(data_dir) == []


@pytest.mark.parametrize(
    ("name", "kind", "error", "message"),
    [
        ("../escape", "detector", ValueError, "name must be"),
        ("Site Detector", "detector", ValueError, "name must be"),
        (NAME, "classifier", ValueError, "kind must be one of"),
        ("dlib_mmod_cnn", "detector", ConfigError, "packaged model"),
    ],
)
def test_install_refuses_bad_names_and_kinds(
    data_dir: Path, weights: Path, name: str, kind: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        install_site_model(data_dir, KEY, name, kind, weights, LICENCE, SOURCE)
    assert not site_models_dir(data_dir).exists()


def test_site_model_may_not_shadow_one_already_registered(data_dir: Path, weights: Path) -> None:
    _install(data_dir, weights)
    registry = apply_site_models(ModelRegistry.default(), data_dir, KEY)
    with pytest.raises(ConfigError, match="would replace a packaged model"):
        apply_site_models(registry, data_dir, KEY)


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "kind": "detector",
        "filename": "weights.pt",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "licence": LICENCE,
        "source": SOURCE,
        "published_metrics": {},
    }
    return entry | changes


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({"dlib_resnet_v1": _entry(kind="embedding")}, "would replace a packaged model"),
        ({NAME: _entry(filename="../../facegate.sqlite")}, "is not a file in"),
        ({NAME: _entry(filename=".hidden")}, "is not a file in"),
        ({NAME: _entry(kind="classifier")}, "kind 'classifier' is not allowed"),
        ({NAME: _entry(sha256="abc")}, "sha256 must be 64"),
        ({NAME: _entry(package="facegate")}, "has no package"),
        ({"../x": _entry()}, "name must be"),
        ({NAME: {k: v for k, v in _entry().items() if k != "licence"}}, "not a valid site"),
    ],
)
def test_signed_but_insane_entries_are_refused(
    data_dir: Path, models: dict[str, object], message: str
) -> None:
    _write_signed(data_dir, models)
    with pytest.raises(ConfigError, match=message):
        apply_site_models(ModelRegistry.default(), data_dir, KEY)


def test_signed_file_of_another_format_is_refused(data_dir: Path) -> None:
    payload = {"format": "facegate-site-models/0", "models": {}}
    signature = KEY.sign_config(canonical_json(payload).encode("utf-8"))
    path = site_models_path(data_dir)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**payload, "signature": signature}))
    with pytest.raises(ConfigError, match="format"):
        apply_site_models(ModelRegistry.default(), data_dir, KEY)


def test_cli_install_checks_the_weights_and_prints_name_and_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from facegate.cli.detector_install import register_install
    from facegate.store.crypto import load_site_key
    from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL, RcnnConfig
    from facegate.vision.rcnn.model import build_model
    from facegate.vision.rcnn.weights import export_weights

    data_dir = tmp_path / "data"
    monkeypatch.setenv("FACEGATE_ENV", "development")
    for name in ("FACEGATE_SITE_KEY", "FACEGATE_KEY_FILE", "FACEGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    context = Context()
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        context.reset(data_dir, as_json=True, actor="test")
        ctx.obj = context

    register_install(app)
    runner = CliRunner()

    not_weights = tmp_path / "notes.pt"
    not_weights.write_bytes(b"not a weights file")
    refused = runner.invoke(app, ["install", str(not_weights)])
    assert isinstance(refused.exception, ModelIntegrityError)
    assert str(refused.exception).startswith(f"{not_weights}: not a facegate detector weights")
    assert not site_models_path(data_dir).exists()
    assert [p.name for p in site_models_dir(data_dir).iterdir()] == []

    config = RcnnConfig()
    weights = export_weights(build_model(config), config, tmp_path / "untrained.pt")
    bad_name = runner.invoke(app, ["install", str(weights), "--name", "../x"])
    assert bad_name.exit_code == 2  # a usage error, before anything is read
    assert "name must be" in bad_name.output
    result = runner.invoke(app, ["install", str(weights)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert (printed["name"], printed["sha256"]) == (SITE_DETECTOR_MODEL, sha256)
    assert printed["backbone"] == config.backbone.value
    key = load_site_key(context.settings, database_exists=True)
    registry = apply_site_models(ModelRegistry.default(), data_dir, key)
    assert registry.verified_path(SITE_DETECTOR_MODEL) == Path(printed["path"])
