"""Checks that a frozen bundle's system libraries are all declared as Depends.

Reads the direct dependencies (DT_NEEDED) of every ELF file in the bundle,
resolves them with ``ldd`` (with the bundle's own library folders on
LD_LIBRARY_PATH, as the PyInstaller bootloader sets them), keeps those
resolved outside the bundle, asks ``dpkg -S`` which package owns each, and
compares that set with the declared Depends (``packaging/linux/depends``,
or a control-style ``Depends:`` value).
It also finds the newest glibc symbol version any file needs and checks it
against the declared ``libc6 (>= ...)``.

Exit status 1 if a needed package is not declared, if glibc is declared too
old, or (with ``--strict``) if any library does not resolve at all; a
library that does not resolve only warns without ``--strict``, since the
build machine need not have every runtime dependency installed. Packages
declared but not seen by ldd are listed for information: some are there for
data or for libraries loaded at run time (fonts, CA certificates, key maps).

    python3 packaging/check_deps.py build/package/bundle/inspector
    python3 packaging/check_deps.py --strict \\
        --depends "$(dpkg-query -W -f='${Depends}' inspector)" /opt/inspector

Standard library only: it runs under any python3.
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPENDS_FILE = HERE / "linux" / "depends"

_LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(.+?)\s+\(0x[0-9a-f]+\)\s*$")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
_GLIBC = re.compile(r"\((GLIBC_(\d+)\.(\d+)(?:\.(\d+))?)\)")
_RELATION = re.compile(
    r"^([a-z0-9][a-z0-9+.-]+)(?::\w+)?\s*(?:\(\s*(>=|<=|>>|<<|=)\s*([^)\s]+)\s*\))?$"
)


def read_depends_file(path: Path) -> list[str]:
    """One relation a line; ``#`` starts a comment."""
    relations = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            relations.append(line)
    return relations


def parse_relations(relations: list[str]) -> dict[str, str | None]:
    """Package name -> minimum version (``>=``) or None. Alternatives
    (``a | b``) count each name as declared."""
    declared: dict[str, str | None] = {}
    for relation in relations:
        for alternative in relation.split("|"):
            match = _RELATION.match(alternative.strip())
            if not match:
                raise ValueError(f"cannot parse dependency {alternative.strip()!r}")
            name, op, version = match.groups()
            declared[name] = version if op == ">=" else declared.get(name)
    return declared


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def library_path(bundle: Path, files: list[Path]) -> str:
    dirs = {bundle, bundle / "_internal"} | {f.parent for f in files}
    return ":".join(str(d) for d in sorted(dirs) if d.is_dir())


def needed_names(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file (its direct dependencies)."""
    data = path.read_bytes()
    bits64 = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    if bits64:
        (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
    loads, dynamic = [], None
    for index in range(phnum):
        at = phoff + index * phentsize
        if bits64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                order + "IIQQQQ", data, at
            )
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(order + "IIIII", data, at)
        if p_type == 1:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == 2:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    entry = struct.Struct(order + ("qQ" if bits64 else "iI"))
    needed_offsets, strtab = [], None
    for at in range(dynamic[0], dynamic[0] + dynamic[1], entry.size):
        tag, value = entry.unpack_from(data, at)
        if tag == 0:
            break
        if tag == 1:
            needed_offsets.append(value)
        elif tag == 5:
            strtab = value
    if strtab is None:
        return []
    for vaddr, offset, size in loads:
        if vaddr <= strtab < vaddr + size:
            strtab = strtab - vaddr + offset
            break
    names = []
    for value in needed_offsets:
        end = data.index(b"\0", strtab + value)
        names.append(data[strtab + value : end].decode())
    return names


def run_ldd(
    files: list[Path], bundle: Path
) -> tuple[dict[str, set[Path]], dict[str, set[Path]], dict[tuple[int, ...], set[Path]]]:
    """(system library path -> bundled files that link it directly,
    unresolved name -> files, glibc version -> files needing it)."""
    env = dict(os.environ, LD_LIBRARY_PATH=library_path(bundle, files))
    outside: dict[str, set[Path]] = {}
    missing: dict[str, set[Path]] = {}
    glibc: dict[tuple[int, ...], set[Path]] = {}
    for path in files:
        direct = set(needed_names(path))
        if not direct:
            continue
        result = subprocess.run(
            ["ldd", "-v", str(path)], capture_output=True, text=True, env=env, check=False
        )
        section = None
        for line in result.stdout.splitlines():
            if (
                line.startswith("\t")
                and not line.startswith("\t\t")
                and line.rstrip().endswith(":")
            ):
                section = line.strip()[:-1]
                continue
            if section is not None:
                # Version requirements: only the file's own section counts.
                if section == str(path):
                    for match in _GLIBC.finditer(line):
                        version = tuple(int(n) for n in match.groups()[1:] if n is not None)
                        glibc.setdefault(version, set()).add(path)
                continue
            if m := _NOT_FOUND.match(line):
                missing.setdefault(m.group(1), set()).add(path)
            elif m := _LDD_LINE.match(line):
                name, target = m.groups()
                if name not in direct or not target.startswith("/"):
                    continue
                if Path(os.path.realpath(target)).is_relative_to(bundle):
                    continue
                outside.setdefault(target, set()).add(path)
    return outside, missing, glibc


def owners(paths: list[str]) -> dict[str, str | None]:
    """Library path -> owning package (None if dpkg knows no owner)."""
    result: dict[str, str | None] = {}
    for path in paths:
        candidates = [path, os.path.realpath(path)]
        for candidate in list(candidates):
            if candidate.startswith("/usr/"):
                candidates.append(candidate[4:])
            else:
                candidates.append("/usr" + candidate)
        owner = None
        for candidate in dict.fromkeys(candidates):
            query = subprocess.run(
                ["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False
            )
            if query.returncode == 0:
                # "libfoo1:amd64: /usr/lib/..." (diversions add other lines)
                for line in query.stdout.splitlines():
                    if ": " in line and not line.startswith("diversion"):
                        owner = line.split(": ", 1)[0].split(",")[0].split(":")[0].strip()
                        break
            if owner:
                break
        result[path] = owner
    return result


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("-")[0])[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the bundle folder (holding the executable)")
    parser.add_argument(
        "--depends",
        help="a Depends value (comma-separated); default: packaging/linux/depends",
    )
    parser.add_argument("--strict", action="store_true", help="fail on unresolved libraries")
    parser.add_argument("-v", "--verbose", action="store_true", help="show which file needs what")
    args = parser.parse_args(argv)

    bundle = args.bundle.resolve()
    if args.depends is not None:
        relations = [part.strip() for part in args.depends.split(",") if part.strip()]
    else:
        relations = read_depends_file(DEPENDS_FILE)
    declared = parse_relations(relations)

    files = elf_files(bundle)
    if not files:
        print(f"check_deps: no ELF files under {bundle}", file=sys.stderr)
        return 1
    outside, missing, glibc = run_ldd(files, bundle)
    owner_of = owners(sorted(outside))

    def names(paths: set[Path], limit: int = 4) -> str:
        shown = sorted(str(p.relative_to(bundle)) for p in paths)
        return ", ".join(shown[:limit]) + (
            f" and {len(shown) - limit} more" if len(shown) > limit else ""
        )

    needed: dict[str, set[str]] = {}
    failures = []
    for lib, package in sorted(owner_of.items()):
        if package is None:
            failures.append(f"{lib} (linked by {names(outside[lib])}) belongs to no package")
        else:
            needed.setdefault(package, set()).add(lib)
    for package in sorted(set(needed) - set(declared)):
        libs = ", ".join(sorted(needed[package]))
        failures.append(f"{package} is needed ({libs}) but not declared")

    if glibc:
        newest = max(glibc)
        text = ".".join(str(n) for n in newest)
        print(f"check_deps: newest glibc symbol version needed: {text} ({names(glibc[newest])})")
        declared_libc = declared.get("libc6")
        if declared_libc is None or version_key(declared_libc) < newest:
            failures.append(f"glibc {text} is needed but libc6 is declared as {declared_libc}")

    print(
        f"check_deps: {len(files)} ELF files link {len(outside)} system libraries "
        f"from {len(needed)} packages"
    )
    for package in sorted(needed):
        print(f"  {package}: {', '.join(sorted(os.path.basename(p) for p in needed[package]))}")
        if args.verbose:
            for lib in sorted(needed[package]):
                print(f"      {os.path.basename(lib)} <- {names(outside[lib])}")
    extra = sorted(set(declared) - set(needed))
    if extra:
        print(f"check_deps: declared, not linked (data or loaded at run time): {', '.join(extra)}")
    for name, users in sorted(missing.items()):
        message = f"{name} does not resolve (linked by {names(users)})"
        if args.strict:
            failures.append(message)
        else:
            print(f"check_deps: warning: {message}; install the declared Depends to check it")
    sys.stdout.flush()
    for failure in failures:
        print(f"check_deps: error: {failure}", file=sys.stderr)
    if not failures:
        print("check_deps: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
