"""Hugging Face Hub ids for student checkpoints: ``Encoder.from_pretrained("org/name")`` and ``push_to_hub``.

A hub id is ``org/name`` (letters, digits, ``-_.``) that is not an existing local path. It is fetched with
``huggingface_hub.snapshot_download`` into huggingface_hub's own cache (``HF_HUB_CACHE``, else
``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``); ``HF_HUB_OFFLINE=1`` reads that cache only, so a
pre-populated cache works with no network. Only ``config.json``, ``model.safetensors`` and ``README.md`` are
fetched. Uploads go through ``HfApi.upload_folder`` from a folder written by ``save_pretrained``.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from usad.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
FILES = [CONFIG_NAME, WEIGHTS_NAME, "README.md"]


def is_hub_id(spec: str | os.PathLike) -> bool:
    """True for ``org/name`` that is not a local path (a local folder always wins)."""
    text = str(spec)
    return bool(HUB_ID.match(text)) and not text.startswith(".") and not os.path.exists(text)


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as huggingface_hub reads it, looked up at call time."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def cache_dir() -> str | None:
    """huggingface_hub's cache folder from the environment at call time (None: its default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    return None


def download(repo_id: str, revision: str | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` (downloaded unless cached; cache only when offline)."""
    from huggingface_hub import errors, snapshot_download
    from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    IncompleteSnapshotError = getattr(errors, "IncompleteSnapshotError", ())  # newer huggingface_hub only

    where = cache_dir() or "~/.cache/huggingface/hub"
    try:
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir(), allow_patterns=FILES,
                                      local_files_only=offline(), library_name="usad"))
    except IncompleteSnapshotError as exc:
        raise CheckpointError(f"hub id {repo_id!r}: the cached copy in {where} is incomplete ({exc}); download it "
                              f"again with network access") from exc
    except LocalEntryNotFoundError as exc:
        why = ("HF_HUB_OFFLINE is set, so only the local cache is read" if offline()
               else "the Hub could not be reached")
        raise CheckpointError(f"hub id {repo_id!r}: no copy in the Hugging Face cache ({where}) and {why}. "
                              f"Download it once with network access (or unset HF_HUB_OFFLINE), or pass a local "
                              f"folder written by save_pretrained.") from exc
    except RevisionNotFoundError as exc:
        raise CheckpointError(f"hub id {repo_id!r}: revision {revision!r} does not exist; check the branch, tag or "
                              f"commit") from exc
    except RepositoryNotFoundError as exc:
        raise CheckpointError(f"hub id {repo_id!r}: no such model repository on the Hub (or it is private: log in "
                              f"with `hf auth login`); a local folder of that name does not exist either") from exc
    except HfHubHTTPError as exc:
        raise CheckpointError(f"hub id {repo_id!r}: download failed ({exc}); retry, or pass a local folder") from exc


def resolve(spec: str | os.PathLike, revision: str | None = None) -> Path:
    """A local checkpoint folder for ``spec``: the path itself, or the hub snapshot of a hub id."""
    return download(str(spec), revision) if is_hub_id(spec) else Path(spec)


MODEL_CARD = """---
library_name: usad
tags: [audio, audio-encoder, usad]
---
# {name}

A usad student encoder ({dim}-d, {layers} blocks, {rate:g} Hz frames, {attention} attention).

```python
import usad
enc = usad.Encoder.from_pretrained("{repo_id}")
```
"""


def push_to_hub(encoder, repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str = "Upload usad encoder", revision: str | None = None) -> str:
    """Save ``encoder`` (config.json + model.safetensors + a short model card) and upload it to ``repo_id``.

    Creates the repository when it does not exist. Returns the commit URL.
    """
    from huggingface_hub import HfApi

    if not HUB_ID.match(repo_id):
        raise CheckpointError(f"push_to_hub: {repo_id!r} is not a hub id; use 'org/name' (or 'user/name')")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    c = encoder.config
    with tempfile.TemporaryDirectory(prefix="usad-push-") as tmp:
        folder = Path(tmp) / "model"
        encoder.save_pretrained(folder)
        (folder / "README.md").write_text(MODEL_CARD.format(name=repo_id.split("/")[-1], dim=c.dim,
                                                            layers=c.num_layers, rate=c.frame_rate,
                                                            attention=c.attention, repo_id=repo_id))
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                                 commit_message=commit_message, revision=revision)
    return str(getattr(info, "commit_url", info))
