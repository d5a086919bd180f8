"""Cassette policy: where each item's HTTP exchanges live, how they match, what reaches disk.

Every model and judge call of an item goes through one vcrpy cassette, so a CI rerun
replays byte for byte without keys. The rules, each for a reason:

* One small cassette per item (`cassette_path`), named from suite, model, scenario id and
  sample: stable under reordering, and safe under xdist (no two workers share a file).
* Matching on method, URL and a hash of the *canonical* body (parsed JSON, sorted, volatile
  fields dropped), never on headers: headers carry per-machine noise, and vcrpy's own
  ``body`` matcher builds a difflib diff for every miss (slow).
* Matching does not depend on where the server listens: a cassette notes the endpoint it
  was recorded against (``metadata.endpoint``: name and base URL, for information), and on
  loading, each recorded URL under that base URL is moved onto the endpoint's base URL of
  this run (`EndpointSite`). So the URL compared is, in effect, the endpoint's name (the
  cassette's path holds it) and the API path below the base URL: a recording against
  ``127.0.0.1:46827`` replays against ``127.0.0.1:42425``, a proxy or another host.
* Nothing secret is written: request headers are kept only from an allow-list, headers that
  identify the account are dropped from responses, key-bearing query parameters are
  removed, the values of key variables are replaced anywhere when saved (and not put back
  when loaded: a replay with the key set gives the placeholder too), and the persister
  refuses to write a file that still contains one.
* Failed exchanges (401/403/408/409/429/5xx) are not recorded: a replay must never depend
  on a retry, and an auth failure must not be frozen into a cassette.
* Files are written to a temporary file and renamed (``os.replace``): an interrupted run
  or two writers never leave half a file. The temporary file is in the cassette's
  self-ignoring ``.spec-pytest-tmp/`` (`spec_pytest.recording.lock`), so what a killed
  writer leaves there never reaches ``git add``.
* A miss is an ERROR with the fix in it: `MissingCassetteError`, `StaleCassetteError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from spec_pytest.errors import ConfigError, RunError
from spec_pytest.providers.base import RECORDED_LATENCY_HEADER
from spec_pytest.recording.durability import note_written
from spec_pytest.recording.lock import work_dir
from spec_pytest.recording.mode import RecordMode

# which variables hold keys: the knowledge of the one scrubber every other sink uses too
from spec_pytest.secrets import SECRET_QUERY_PARAMETERS, install_log_filter, secret_values

if TYPE_CHECKING:  # vcrpy is imported when a cassette is first used: importing it costs
    # about 0.15 s (it loads aiohttp), which every pytest start-up and collection would pay
    import vcr
    from vcr.cassette import Cassette
    from vcr.errors import CannotOverwriteExistingCassetteException
    from vcr.request import Request

# --------------------------------------------------------------------------- record modes


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the ``CI`` variable is set to something other than an explicit no."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def resolve_record_mode(
    requested: str | RecordMode | None, environ: Mapping[str, str] | None = None
) -> RecordMode:
    """The mode asked for, else ``none`` in CI (never touch the network there), else ``once``."""
    if requested is not None and requested != "":
        try:
            return RecordMode(requested)
        except ValueError:
            valid = ", ".join(m.value for m in RecordMode)
            raise ConfigError(f"record mode {requested!r} is not one of: {valid}") from None
    return RecordMode.NONE if in_ci(environ) else RecordMode.ONCE


def will_replay(path: str | os.PathLike[str], mode: RecordMode | str) -> bool:
    """Whether an item in this mode can only replay (so: no key needed, no SDK retries)."""
    mode = RecordMode(mode)
    return mode is RecordMode.NONE or (mode is RecordMode.ONCE and _has_content(Path(path)))


# --------------------------------------------------------------------------- naming

_SAFE = re.compile(r"[a-z0-9_][a-z0-9._-]{0,79}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


def safe_component(text: str) -> str:
    """A file name for ``text`` that is the same on every OS and never collides.

    Plain lower-case ids stay as they are (readable paths). Anything else (upper case,
    which case-insensitive file systems fold, slashes, colons, over-long ids, reserved
    Windows names) is cleaned and suffixed with a hash of the original text, so two
    different ids can never share a file.
    """
    if (
        _SAFE.fullmatch(text)
        and not text.endswith(".")
        and text.split(".")[0].upper() not in _WINDOWS_RESERVED
    ):
        return text
    cleaned = _UNSAFE_CHARS.sub("_", text).strip("._")[:60] or "id"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def cassette_path(
    root: str | os.PathLike[str], suite: str, model: str, scenario_id: str, sample: int = 0
) -> Path:
    """``root/<suite>/<provider>/<model>/<scenario>.s<sample>.json``.

    Built only from ids (never from position), so it survives reordering and reruns;
    the sample index is always present, so raising ``samples`` keeps sample 0's cassette.
    """
    provider, sep, model_name = model.partition(":")
    model_parts = [provider, model_name] if sep else [model]
    parts = [safe_component(suite), *(safe_component(p) for p in model_parts)]
    return Path(root).joinpath(*parts, f"{safe_component(scenario_id)}.s{int(sample)}.json")


# --------------------------------------------------------------------------- matching

#: Top-level body fields that may change between runs without changing the question.
VOLATILE_BODY_FIELDS = frozenset({"user", "metadata", "safety_identifier", "prompt_cache_key"})


def _body_bytes(request: Request) -> bytes:
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.util import read_body

    body = read_body(request)
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def canonical_body(body: bytes) -> Any:
    """The request body as data: JSON parsed, volatile fields dropped (text if not JSON)."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in VOLATILE_BODY_FIELDS}
    return data


@lru_cache(maxsize=8192)
def body_fingerprint(body: bytes) -> str:
    """Hash of the canonical body; cached, so matching many candidates costs one parse each."""
    text = json.dumps(canonical_body(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(r1: Request, r2: Request) -> None:
    """vcrpy matcher: the canonical bodies are equal (its name appears in vcrpy's messages)."""
    if body_fingerprint(_body_bytes(r1)) != body_fingerprint(_body_bytes(r2)):
        raise AssertionError("canonical request bodies differ")


# --------------------------------------------------------------------------- where the server is


@dataclass(frozen=True, slots=True)
class EndpointSite:
    """The endpoint a cassette's exchanges go to in this run: its name and base URL.

    Recorded in the cassette's metadata for information only; see `rebased`.
    """

    name: str
    base_url: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "base_url": self.base_url}


def rebased(uri: str, recorded: Mapping[str, Any] | None, site: EndpointSite) -> str:
    """``uri`` (recorded against the endpoint ``recorded`` names) moved onto ``site``'s base URL.

    With the recorded base URL known (``recorded``, the cassette's ``metadata.endpoint``),
    the API path below it is kept and put under the current base URL: a different port, host
    or base path no longer matters. A cassette of an earlier version has no such note: its
    URL keeps its path and takes the current scheme, host and port when the path lies under
    the current base path (a moved port replays; a moved base path needs a re-record). An
    endpoint of another name, or a URL outside the recorded base URL, is left as it is (so
    a miss still shows the URL as recorded).
    """
    if recorded is not None:
        if recorded.get("name") != site.name:
            return uri
        base = str(recorded.get("base_url") or "")
        rest = _below(uri, base)
        return uri if rest is None else site.base_url.rstrip("/") + rest
    old, now = urlsplit(uri), urlsplit(site.base_url)
    if _below(old.path, now.path.rstrip("/") or "/") is None and now.path.strip("/"):
        return uri
    return urlunsplit((now.scheme, now.netloc, old.path, old.query, old.fragment))


def _below(uri: str, base: str) -> str | None:
    """What follows ``base`` in ``uri`` (the API path and query), None if ``uri`` is not under it."""
    base = base.rstrip("/")
    if not base or not uri.startswith(base):
        return None
    rest = uri[len(base) :]
    return rest if rest == "" or rest[0] in "/?#" else None


# --------------------------------------------------------------------------- scrubbing

#: Request headers worth keeping; everything else (auth, org/project, machine noise) is dropped.
RECORDED_REQUEST_HEADERS = frozenset(
    {"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"}
)
#: Response headers that identify the account. Request ids stay: they help support tickets.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"set-cookie", "openai-organization", "openai-project", "anthropic-organization-id", "x-organization-id"}
)
#: Statuses never recorded: retried by the SDKs, or about the key rather than the request.
NOT_RECORDED_STATUSES = frozenset({401, 403, 408, 409, 429})


def _hide_secrets(secrets: Mapping[str, str]) -> Any:
    """A vcrpy ``before_save_interaction`` hook: each key value becomes its ``<VAR>`` placeholder.

    Unlike vcrpy's ``filter_sensitive_data`` nothing is put back on load: a replay with the key
    set gives the placeholder too, so no recorded answer ever hands the key to a sink.
    """
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.filters import sensitive_data_hooks

    hide, _restore = sensitive_data_hooks(list(secrets.items()))
    return hide


def _scrub_request(request: Request) -> Request:
    request.headers = {k: v for k, v in request.headers.items() if k.lower() in RECORDED_REQUEST_HEADERS}
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any] | None:
    status = response["status"]["code"]
    if status in NOT_RECORDED_STATUSES or status >= 500:
        return None
    response["headers"] = {
        k: v for k, v in response["headers"].items() if k.lower() not in DROPPED_RESPONSE_HEADERS
    }
    return response


# --------------------------------------------------------------------------- errors


class CassetteError(RunError):
    """A cassette problem that must be an ERROR, never a pass or a silent re-record."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        super().__init__(message)


class MissingCassetteError(CassetteError):
    def __init__(self, path: str | os.PathLike[str], rerecord_hint: str | None = None) -> None:
        self.rerecord_hint = rerecord_hint
        super().__init__(
            path,
            f"no cassette at {path}, and record mode 'none' (the default when CI is set) never "
            f"calls the API. Record it once where the API key is set: "
            f"{rerecord_hint or _RECORD_HINT}",
        )


class StaleCassetteError(CassetteError):
    """The item now sends a request its cassette does not hold (prompt or parameters changed).

    ``changes`` lists the differing fields as dotted paths (``body.temperature``,
    ``body.messages[0].content``, ``url``); the message shows old → new values, shortened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        changes: list[tuple[str, object, object]],
        rerecord_hint: str | None = None,
        note: str | None = None,
    ) -> None:
        self.changes = tuple(name for name, _, _ in changes)
        self.rerecord_hint = rerecord_hint
        lines = [f"cassette {path} no longer matches the request this item sends"]
        if note:
            lines[0] += f": {note}"
        for name, old, new in changes:
            lines.append(f"  {name}: {_short(old)} -> {_short(new)}")
        lines.append(f"Re-record just this item: {rerecord_hint or _REWRITE_HINT}")
        super().__init__(path, "\n".join(lines))


class CorruptCassetteError(CassetteError):
    def __init__(self, path: str | os.PathLike[str], reason: object) -> None:
        super().__init__(path, f"cassette {path} cannot be read ({reason}); delete it and record it again")


class SecretLeakError(CassetteError):
    def __init__(self, path: str | os.PathLike[str], variables: list[str]) -> None:
        super().__init__(
            path,
            f"refusing to write cassette {path}: it would contain the value of {', '.join(variables)}",
        )


_ABSENT = object()


_RECORD_HINT = "run this item once with record mode 'once' and the API key set"
_REWRITE_HINT = "run this item once with record mode 'rewrite' and the API key set"


def _short(value: object, limit: int = 60) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_fields(old: object, new: object, prefix: str = "body") -> list[tuple[str, object, object]]:
    """Dotted paths where two canonical bodies differ, with the old and new values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, object, object]] = []
        for key in sorted(set(old) | set(new), key=str):
            out += changed_fields(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{prefix}.{key}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else _ABSENT
            b = new[i] if i < len(new) else _ABSENT
            out += changed_fields(a, b, f"{prefix}[{i}]")
        return out
    return [] if old == new else [(prefix, old, new)]


def _request_changes(recorded: Request, sent: Request) -> list[tuple[str, object, object]]:
    changes: list[tuple[str, object, object]] = []
    if recorded.method != sent.method:
        changes.append(("method", recorded.method, sent.method))
    if recorded.uri != sent.uri:
        changes.append(("url", recorded.uri, sent.uri))
    old = canonical_body(_body_bytes(recorded))
    new = canonical_body(_body_bytes(sent))
    return changes + changed_fields(old, new)


def cassette_error(
    exc: BaseException, rerecord_hint: str | None = None, environ: Mapping[str, str] | None = None
) -> CassetteError | None:
    """Our error for a vcrpy miss found anywhere in ``exc``'s chain, else None.

    For the plugin: an SDK or provider may wrap vcrpy's CannotOverwriteExistingCassette-
    Exception; this finds it and says which cassette, what changed, and how to fix it.
    """
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.errors import CannotOverwriteExistingCassetteException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CassetteError):
            return current
        if isinstance(current, CannotOverwriteExistingCassetteException):
            return _from_vcr_miss(current, rerecord_hint, environ)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _from_vcr_miss(
    exc: CannotOverwriteExistingCassetteException,
    rerecord_hint: str | None,
    environ: Mapping[str, str] | None,
) -> CassetteError:
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.errors import UnhandledHTTPRequestError

    cassette: Cassette = exc.cassette
    path = cassette.path
    if not len(cassette):
        return MissingCassetteError(path, rerecord_hint)
    sent = cassette.filter_request(exc.failed_request) or exc.failed_request
    try:
        recorded_times = len(cassette.responses_of(sent))
    except UnhandledHTTPRequestError:
        recorded_times = 0
    if recorded_times:
        note = f"it sends the same request more often than the {recorded_times} time(s) recorded"
        return StaleCassetteError(path, [], rerecord_hint, note)
    candidates = [req for req in cassette.requests if req.method == sent.method] or cassette.requests
    changes = min((_request_changes(req, sent) for req in candidates), key=len, default=[])
    err = StaleCassetteError(path, changes, rerecord_hint)
    if any(value in str(err) for value in secret_values(environ=environ).values()):
        # Never print a key, even inside an error: keep the field names, hide the values.
        err = StaleCassetteError(path, [(name, "…", "…") for name, _, _ in changes], rerecord_hint)
    return err


# --------------------------------------------------------------------------- persistence


class JsonSerializer:
    """JSON, not YAML: ~10x faster to load, fails loudly on binary bodies, no loader quirks.

    Indented with non-ASCII kept as is, so a reviewer can read prompts and answers in a diff.
    """

    @staticmethod
    def serialize(data: dict[str, Any]) -> str:
        try:
            return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        except TypeError as err:
            raise TypeError(f"cassette holds data JSON cannot store (binary body?): {err}") from None

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        return json.loads(text)


class AtomicPersister:
    """vcrpy persister: temp file + ``os.replace``, and a last check for secrets.

    A reader (or a second xdist worker) sees the old file or the new one, never a mix;
    an interrupted write leaves the temp file's removal to the ``finally`` below, and a
    killed process at worst leaves a file in the self-ignoring work directory, which no
    cassette lookup reads and git never sees. Dot-files that earlier versions left beside
    the cassette are removed when it is next written.
    """

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        overwrite_corrupt: bool = False,
        site: EndpointSite | None = None,
    ) -> None:
        self._secrets = dict(secrets)
        self._overwrite_corrupt = overwrite_corrupt  # rewrite mode replaces the file anyway
        self._site = site  # where the endpoint listens in this run (None: URLs as recorded)

    def load_cassette(self, cassette_path: str, serializer: Any) -> Any:
        # deferred: vcrpy (and aiohttp) load only when a cassette is first used
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CassetteNotFoundError() from None
        except UnicodeDecodeError as err:
            return self._corrupt(path, err)
        if not text.strip():
            raise CassetteNotFoundError()
        try:
            requests, responses, *metadata = deserialize(text, serializer)
        except (ValueError, KeyError, TypeError) as err:
            return self._corrupt(path, err)
        if self._site is not None:
            noted = metadata[0].get("endpoint") if metadata and isinstance(metadata[0], dict) else None
            for request in requests:
                request.uri = rebased(request.uri, noted if isinstance(noted, dict) else None, self._site)
        return (requests, responses, *metadata)

    def _corrupt(self, path: Path, reason: Exception) -> Any:
        # deferred: vcrpy (and aiohttp) load only when a cassette is first used
        from vcr.persisters.filesystem import CassetteNotFoundError

        if self._overwrite_corrupt:
            raise CassetteNotFoundError()
        raise CorruptCassetteError(path, reason) from None

    def save_cassette(self, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        # deferred: vcrpy (and aiohttp) load only when a cassette is first used
        from vcr.serialize import serialize

        path = Path(cassette_path)
        if self._site is not None:  # where it was recorded, for a reader: never matched on
            metadata = {**(cassette_dict.get("metadata") or {}), "endpoint": self._site.to_dict()}
            cassette_dict = {**cassette_dict, "metadata": metadata}
        text = serialize(cassette_dict, serializer)
        leaked = [name.strip("<>") for name, value in self._secrets.items() if value in text]
        if leaked:
            raise SecretLeakError(path, leaked)
        fd, tmp = tempfile.mkstemp(dir=work_dir(path), prefix=f"{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            note_written()  # reaches the disk when the run ends (`spec_pytest.recording.durability`)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide cassettes from other CI users
            os.replace(tmp, path)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
        _remove_old_leftovers(path)


#: A temporary file older than this is a leftover (a write takes milliseconds).
LEFTOVER_AGE_S = 600.0


def _remove_old_leftovers(path: Path) -> None:
    """The ``.<cassette>.*.tmp`` files killed writers of earlier versions left beside ``path``."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        with suppress(OSError):
            if time.time() - leftover.stat().st_mtime > LEFTOVER_AGE_S:
                leftover.unlink()


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0 and bool(path.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, UnicodeDecodeError):
        return False


#: HTTP libraries vcrpy need not patch: both SDKs send through httpx2 (http.client stays
#: patched as a net). vcrpy retries importing each library on every cassette it opens,
#: which for absent ones (tornado, boto3...) is most of the cost of replaying an item.
SKIPPED_PATCHERS = ("requests", "boto3", "urllib3", "httplib2", "tornado", "aiohttp", "httpx")


@lru_cache(maxsize=1)
def _vcr_config() -> vcr.VCR:
    """The one vcrpy configuration of the project, built on first use."""
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    import vcr

    install_log_filter()  # vcrpy logs whole interactions (answers, URLs) at INFO and DEBUG
    config = vcr.VCR(
        skip_patchers=SKIPPED_PATCHERS,
        serializer="spec-pytest-json",
        match_on=("method", "uri", "body_hash"),
        decode_compressed_response=True,
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        filter_query_parameters=[(name, None) for name in SECRET_QUERY_PARAMETERS],
        record_on_exception=False,
    )
    config.register_serializer("spec-pytest-json", JsonSerializer)
    config.register_matcher("body_hash", body_hash)
    return config


def cassette_options(
    path: str | os.PathLike[str],
    mode: RecordMode | str = RecordMode.ONCE,
    *,
    secret_env_vars: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    site: EndpointSite | None = None,
) -> dict[str, Any]:
    """The keyword arguments of the vcrpy `Cassette` for ``path`` in ``mode``.

    One place for the policy (serializer, matchers, scrubbing, persister), so that
    `use_cassette` and `detached_cassette` (the fan-out's recorder) write the same bytes.
    """
    mode = RecordMode(mode)
    secrets = secret_values(secret_env_vars, environ)
    merged = _vcr_config().get_merged_config(
        path=str(path),
        record_mode="all" if mode is RecordMode.REWRITE else mode.value,
        drop_unused_requests=mode is RecordMode.REWRITE,
        before_save_interaction=_hide_secrets(secrets) if secrets else None,
        persister=AtomicPersister(secrets, overwrite_corrupt=mode is RecordMode.REWRITE, site=site),
    )
    for name in ("path_transformer", "func_path_generator", "record_on_exception"):
        merged.pop(name, None)  # context-manager arguments, not the cassette's
    return merged


def detached_cassette(
    path: str | os.PathLike[str],
    mode: RecordMode | str = RecordMode.ONCE,
    *,
    rerecord_hint: str | None = None,
    secret_env_vars: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    site: EndpointSite | None = None,
) -> Cassette:
    """The cassette `use_cassette` would open, loaded, but with no HTTP library patched.

    vcrpy patches httpx2 for the whole process, so only one cassette can be *active* at a
    time; a loaded `Cassette` object, though, can answer "can you play this request?",
    take new interactions (``append``, which applies the same scrubbing filters) and save
    itself through the same persister. The fan-out drives many of these at once from its
    own transport (`spec_pytest.recording.transport`), one per request's context.
    """
    mode = RecordMode(mode)
    if mode is RecordMode.NONE and not _has_content(Path(path)):
        raise MissingCassetteError(path, rerecord_hint)
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.cassette import Cassette

    options = cassette_options(path, mode, secret_env_vars=secret_env_vars, environ=environ, site=site)
    return Cassette.load(**options)


def _note_latency(cassette: Cassette) -> None:
    """Have ``cassette`` note in each answer it records how long the API took.

    The fan-out's transport does this for its tapes; an item that records through vcrpy's
    patch (no prefetch, or under xdist) must too, or its replay reports the replay's
    milliseconds as the answer's latency. vcrpy asks the cassette whether it can play a
    request before sending it and appends the same request object with the answer, so the
    time between the two is the API's.
    """
    asked: dict[int, float] = {}
    can_play = cassette.can_play_response_for
    append = cassette.append

    def noting_can_play(request: Any) -> bool:
        asked[id(request)] = time.monotonic()
        return bool(can_play(request))

    def noting_append(request: Any, response: dict[str, Any]) -> None:
        started = asked.pop(id(request), None)
        if started is not None:
            headers = response.setdefault("headers", {})
            headers[RECORDED_LATENCY_HEADER] = [f"{time.monotonic() - started:.3f}"]
        append(request, response)

    cassette.can_play_response_for = noting_can_play
    cassette.append = noting_append


@contextmanager
def use_cassette(
    path: str | os.PathLike[str],
    mode: RecordMode | str = RecordMode.ONCE,
    *,
    rerecord_hint: str | None = None,
    secret_env_vars: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    site: EndpointSite | None = None,
) -> Iterator[Cassette]:
    """Run the block with every httpx2 (SDK) request going through the cassette at ``path``.

    ``mode`` is one of `RecordMode` (see `resolve_record_mode`). ``rerecord_hint`` is the
    command that re-records just this item; it goes into `MissingCassetteError` and
    `StaleCassetteError`, which replace vcrpy's miss here (also when an SDK wrapped it).
    ``secret_env_vars`` names extra key variables to scrub (declared endpoints' ones).
    ``site``: the endpoint the block's requests go to; recorded URLs are moved onto its base
    URL (`rebased`) and the cassette notes it (None: URLs match as recorded).
    Nothing is saved when the block raises: a failed item leaves the cassette as it was.
    """
    mode = RecordMode(mode)
    path = Path(path)
    if mode is RecordMode.NONE and not _has_content(path):
        raise MissingCassetteError(path, rerecord_hint)
    # deferred: vcrpy (and aiohttp) load only when a cassette is first used
    from vcr.cassette import Cassette

    options = cassette_options(path, mode, secret_env_vars=secret_env_vars, environ=environ, site=site)
    context = Cassette.use(**options, record_on_exception=False)
    try:
        with context as cassette:
            _note_latency(cassette)
            yield cassette
    except Exception as err:
        translated = cassette_error(err, rerecord_hint, environ)
        if translated is None or translated is err:
            raise
        raise translated from None
