"""Check SEDA 2.2 messages: against the official schemas, and what the schemas leave out.

- ``validate``: XML Schema validation against ``schemas/seda-2.2-main.xsd``, with no network.
  The SEDA schemas import two W3C schemas by ``http://`` URL; a resolver hands lxml the local
  copies instead (``schemas/SOURCE.md`` says where every file comes from).
- ``check_references``: the schema types references as ``xsd:IDREF`` but libxml2 does not
  check that they point anywhere, nor at what kind of element: this does.
- ``check_objects``: that the files a transfer names are in its folder, unchanged, and that
  the folder holds nothing else.

Every function returns a list of problems, one line each (empty: nothing found). None of them
raises on bad input: a message that is not XML, or that carries a DOCTYPE (the door to entity
tricks such as XXE or "billion laughs"), is reported as a problem.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from plie_audit import lazy
from plie_audit.errors import PlieAuditError
from plie_audit.seda.model import NAMESPACE

if TYPE_CHECKING:
    from lxml import etree
else:
    etree = lazy.module("lxml.etree")

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MAIN_SCHEMA = SCHEMAS / "seda-2.2-main.xsd"

# The two URLs the SEDA schemas (and xlink.xsd) import, and the local copies used instead.
_W3C_COPIES = {
    "http://www.w3.org/2001/xml.xsd": SCHEMAS / "xml.xsd",
    "http://www.w3.org/1999/xlink.xsd": SCHEMAS / "xlink.xsd",
}

_NS = "{" + NAMESPACE + "}"
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_CHUNK = 1 << 20  # files are hashed one MiB at a time
_DIGESTS = {"SHA-512": "sha512", "SHA-256": "sha256"}

# The compiled schema, built on first use and shared by the whole process. libxml2 keeps one
# error log per schema object, so validations run one at a time under the same lock.
_LOCK = threading.Lock()
_COMPILED: list[Any] = []


class Unsafe(Exception):
    """The document carries a DOCTYPE: refused before anything reads it further."""

    MESSAGE = "a DOCTYPE is not allowed in a SEDA message"


# "<!DOCTYPE" as UTF-8 (and ASCII-compatible encodings) and as UTF-16 either way round.
_DOCTYPE_MARKERS = tuple(
    "<!DOCTYPE".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)


def safe_parser() -> Any:
    """A parser that fetches nothing, expands no entity and reads no DTD.

    Parsers are not shared between threads, so each call makes a new one (it is cheap).
    """
    return etree.XMLParser(
        no_network=True,
        resolve_entities=False,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
    )


def parse(data: bytes) -> Any:
    """The element tree of ``data``. Raises ``etree.XMLSyntaxError`` when it is not
    well-formed XML and ``Unsafe`` when it has a DOCTYPE (internal or external)."""
    tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise Unsafe(Unsafe.MESSAGE)
    return tree


def parse_problem(data: bytes) -> tuple[Any, list[str]]:
    """``(tree, [])`` when ``data`` parses safely, else ``(None, [one problem])``."""
    try:
        return parse(data), []
    except Unsafe as exc:
        return None, [f"line 1: {exc}"]
    except etree.XMLSyntaxError as exc:
        if any(marker in data for marker in _DOCTYPE_MARKERS):
            # libxml2 may stop on an entity bomb before the DOCTYPE check: say the cause.
            return None, [f"line 1: {Unsafe.MESSAGE}"]
        return None, [f"line {exc.lineno or 1}: not well-formed XML: {exc.msg}"]
    except (etree.Error, ValueError, TypeError) as exc:
        return None, [f"line 1: not readable as XML: {exc}"]


def _compiled_schema() -> Any:
    """The SEDA 2.2 schema, compiled once per process (call with ``_LOCK`` held)."""
    if not _COMPILED:

        class LocalW3C(etree.Resolver):  # type: ignore[misc]
            """Gives lxml the local copies of the two W3C schemas. Other files (the SEDA
            schemas this one includes by relative path) load from this folder as usual, and
            anything on the network is refused by the parser (``no_network``)."""

            def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
                local = _W3C_COPIES.get(url)
                if local is None:
                    return None
                return self.resolve_filename(str(local), context)

        parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=False)
        parser.resolvers.add(LocalW3C())
        try:
            _COMPILED.append(etree.XMLSchema(etree.parse(str(MAIN_SCHEMA), parser)))
        except (etree.Error, OSError) as exc:  # a damaged installation, not a bad message
            raise PlieAuditError(
                f"the SEDA 2.2 schemas in {SCHEMAS} do not compile: {exc}"
            ) from exc
    return _COMPILED[0]


def validate(data: bytes) -> list[str]:
    """The schema errors of ``data`` as ``"line N: message"``; empty when it is valid."""
    tree, problems = parse_problem(data)
    if problems:
        return problems
    return _schema_errors(tree)


def _schema_errors(tree: Any) -> list[str]:
    with _LOCK:
        schema = _compiled_schema()
        if schema.validate(tree):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]


def check_message(data: bytes) -> list[str]:
    """:func:`validate`, then (when valid) :func:`check_references`, on one parse of ``data``
    (what the writer checks before it returns a message)."""
    tree, problems = parse_problem(data)
    if problems:
        return problems
    return _schema_errors(tree) or _reference_errors(tree)


# What each kind of reference must name.
_REFERENCE_KINDS = {
    "DataObjectGroupReferenceId": "group",
    "DataObjectReferenceId": "object",
    "ArchiveUnitRefId": "unit",
}
_ID_KINDS = {
    "ArchiveUnit": "unit",
    "DataObjectGroup": "group",
    "BinaryDataObject": "object",
    "PhysicalDataObject": "object",
}
_KIND_NAMES = {"unit": "an ArchiveUnit", "group": "a DataObjectGroup", "object": "a data object"}


def _local(element: Any) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_NS):
        return tag[len(_NS) :]
    return ""


def check_references(data: bytes) -> list[str]:
    """Every reference names an existing id of the right kind, and no id is used twice.

    References are ``DataObjectGroupReferenceId`` (to a DataObjectGroup),
    ``DataObjectReferenceId`` and ``Relationship/@target`` (to a data object) and
    ``ArchiveUnitRefId`` (to an ArchiveUnit).
    """
    tree, problems = parse_problem(data)
    if problems:
        return problems
    return _reference_errors(tree)


def _reference_errors(tree: Any) -> list[str]:
    kinds: dict[str, str] = {}
    found: list[str] = []
    for element in tree.iter():
        name = _local(element)
        for attribute in ("id", _XML_ID):
            value = element.get(attribute)
            if value is None:
                continue
            value = value.strip()
            if value in kinds:
                found.append(f"line {element.sourceline}: id {value!r} is used more than once")
            else:
                kinds[value] = _ID_KINDS.get(name, "other") if attribute == "id" else "other"
        if name == "DataObjectGroupId" and element.text:  # a group declared from its object
            kinds.setdefault(element.text.strip(), "group")
    for element in tree.iter():
        name = _local(element)
        if name in _REFERENCE_KINDS:
            target, wanted = (element.text or "").strip(), _REFERENCE_KINDS[name]
        elif name == "Relationship":
            target, wanted = (element.get("target") or "").strip(), "object"
        else:
            continue
        kind = kinds.get(target)
        if kind is None:
            found.append(f"line {element.sourceline}: {name} {target!r} names no id")
        elif kind != wanted:
            found.append(
                f"line {element.sourceline}: {name} {target!r} names {_KIND_NAMES.get(kind, kind)}"
                f", not {_KIND_NAMES[wanted]}"
            )
    return found


def _child_text(element: Any, name: str) -> str | None:
    child = element.find(_NS + name)
    if child is None:
        return None
    return str(child.text or "").strip()


def _relative(uri: str) -> str | None:
    """``uri`` as a path relative to the transfer folder, or None when it would leave it."""
    relative = PurePosixPath(uri)
    if not uri or "\\" in uri or relative.is_absolute() or ".." in relative.parts:
        return None
    if ":" in relative.parts[0]:  # a scheme ("file:...") or a drive letter
        return None
    return relative.as_posix()


def _regular_files(folder: Path) -> tuple[dict[str, os.stat_result], list[str]]:
    """Every regular file under ``folder`` (relative posix path -> its lstat), walked once
    without following links, and every symbolic link found (refused: a link may lead out of
    the folder, or change between the check and the reading)."""
    files: dict[str, os.stat_result] = {}
    links: list[str] = []
    for directory, subdirectories, names in os.walk(folder):
        base = Path(directory)
        for name in [*names, *subdirectories]:
            path = base / name
            state = os.lstat(path)
            relative = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(state.st_mode):
                links.append(relative)
            elif stat.S_ISREG(state.st_mode):
                files[relative] = state
    return files, links


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _check_object(
    element: Any, folder: Path, files: dict[str, os.stat_result]
) -> tuple[list[str], str | None]:
    """The problems of one BinaryDataObject with a Uri, and the file it names."""
    label = element.get("id") or f"BinaryDataObject line {element.sourceline}"
    uri = _child_text(element, "Uri") or ""
    relative = _relative(uri)
    if relative is None:
        return [f"{label}: Uri {uri!r} is not a path inside the transfer folder"], None
    state = files.get(relative)
    if state is None:
        return [f"{label}: file {uri!r} is missing"], None
    found: list[str] = []
    size_text = _child_text(element, "Size")
    if size_text is not None and size_text != str(state.st_size):
        found.append(f"{label}: file {uri!r} has {state.st_size} bytes, <Size> says {size_text}")
    digest = element.find(_NS + "MessageDigest")
    if digest is None:
        found.append(f"{label}: no MessageDigest")
        return found, relative
    algorithm = (digest.get("algorithm") or "").strip()
    if algorithm not in _DIGESTS:
        found.append(f"{label}: digest algorithm {algorithm!r} is not SHA-512 or SHA-256")
        return found, relative
    expected = (digest.text or "").strip().lower()
    if _digest(folder / relative, _DIGESTS[algorithm]) != expected:
        found.append(f"{label}: file {uri!r} does not match its {algorithm} MessageDigest")
    return found, relative


def check_objects(data: bytes, folder: Path) -> list[str]:
    """The files of a transfer, against the message that lists them.

    For each BinaryDataObject with a ``Uri``: the file ``folder / uri`` is a regular file
    inside ``folder`` (no ``..``, no absolute path; no symbolic link anywhere in the folder),
    and its size and SHA-512 (or SHA-256) are those of ``<Size>`` and ``<MessageDigest>``.
    Every file under ``folder`` but ``manifest.xml`` (the message itself) must be named by one
    of them. The folder is walked once.
    """
    tree, problems = parse_problem(data)
    if problems:
        return problems
    files, links = _regular_files(folder)
    found = [f"{name!r} is a symbolic link: refused in a transfer folder" for name in links]
    named: set[str] = set()
    for element in tree.iter(_NS + "BinaryDataObject"):
        if element.find(_NS + "Uri") is None:
            continue  # an Attachment inside the message, or no file at all
        object_problems, relative = _check_object(element, folder, files)
        found.extend(object_problems)
        if relative is not None:
            named.add(relative)
    extra = sorted(set(files) - named - {"manifest.xml"})
    found.extend(
        f"file {name!r} is in the folder but no BinaryDataObject names it" for name in extra
    )
    return found
