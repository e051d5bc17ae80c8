"""Read back the files embedded in a PDF: the CSV or JSON twin a document carries.

Two places hold embedded files (ISO 32000-1 §7.11.4): the ``/EmbeddedFiles`` name tree of the
catalog's ``/Names`` dictionary, which is where :func:`plie_audit.reports.pdf.render` puts
them, and file attachment annotations on pages (§12.5.6.15). pyHanko's reader reads the
document's last revision, so a PAdES-signed PDF (the signature is an incremental update)
yields the same files as the unsigned one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from plie_audit.errors import InputError

MAX_TREE_DEPTH = 32
"""Deeper name or page trees are refused: real ones are a few levels deep, and a cycle
(a kid pointing back to an ancestor) must not recurse forever."""


def read_attachments(pdf: bytes) -> dict[str, bytes]:
    """The embedded files of ``pdf``, by file name, decoded (filters undone).

    Names come from the file specification (``/UF``, then ``/F``), else the name tree's key.
    They are the PDF author's text: a caller writing them to disk must check them first.
    A name held twice with different bytes, an encrypted or malformed PDF raise
    :class:`~plie_audit.errors.InputError`.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf))
        if reader.encrypted:
            raise InputError("cannot read the attachments of an encrypted PDF")
        root = reader.root
        found: dict[str, bytes] = {}
        names = _get(root, "/Names")
        tree = _get(names, "/EmbeddedFiles") if names is not None else None
        specs = list(_name_tree(tree, 0)) if tree is not None else []
        pages = _get(root, "/Pages")
        if pages is not None:
            specs.extend(("", spec) for spec in _annotation_specs(pages, 0))
        for key, spec in specs:
            name, data = _file(spec, key)
            if found.setdefault(name, data) != data:
                raise InputError(f"PDF holds two different embedded files named {name!r}")
        return found
    except (PdfError, zlib.error, NotImplementedError) as exc:  # NotImplemented: unknown filter
        raise InputError(f"cannot read the PDF's attachments: {_one_line(exc)}") from exc


def _get(container: generic.PdfObject, key: str) -> generic.PdfObject | None:
    """``container[key]``, dereferenced, or None when ``container`` is no dictionary holding it."""
    if not isinstance(container, generic.DictionaryObject) or key not in container:
        return None
    value: generic.PdfObject = container[key]  # pyHanko dereferences indirect objects
    return value


def _name_tree(node: generic.PdfObject, depth: int) -> Iterator[tuple[str, generic.PdfObject]]:
    """(key, value) pairs of a name tree (§7.9.6): leaves carry ``/Names``, others ``/Kids``."""
    if depth > MAX_TREE_DEPTH:
        raise InputError("the PDF's embedded-file name tree is too deep (a cycle?)")
    pairs = _get(node, "/Names")
    if isinstance(pairs, generic.ArrayObject):
        for i in range(0, len(pairs) - 1, 2):  # indexing dereferences, iterating does not
            key = pairs[i]
            if isinstance(key, bytes):  # not text: a byte string, read as Latin-1
                key = key.decode("latin-1")
            yield str(key), pairs[i + 1]
    kids = _get(node, "/Kids")
    if isinstance(kids, generic.ArrayObject):
        for i in range(len(kids)):
            yield from _name_tree(kids[i], depth + 1)


def _annotation_specs(node: generic.PdfObject, depth: int) -> Iterator[generic.PdfObject]:
    """The file specifications of the file attachment annotations under a page tree node."""
    if depth > MAX_TREE_DEPTH:
        raise InputError("the PDF's page tree is too deep (a cycle?)")
    kids = _get(node, "/Kids")
    if isinstance(kids, generic.ArrayObject):
        for i in range(len(kids)):
            yield from _annotation_specs(kids[i], depth + 1)
        return
    annots = _get(node, "/Annots")
    if isinstance(annots, generic.ArrayObject):
        for i in range(len(annots)):
            subtype = _get(annots[i], "/Subtype")
            if isinstance(subtype, generic.NameObject) and subtype == "/FileAttachment":
                spec = _get(annots[i], "/FS")
                if spec is not None:
                    yield spec


def _file(spec: generic.PdfObject, key: str) -> tuple[str, bytes]:
    """(file name, decoded bytes) of a file specification with an embedded file stream."""
    streams = _get(spec, "/EF")
    stream = None
    for entry in ("/UF", "/F"):
        candidate = _get(streams, entry) if streams is not None else None
        if isinstance(candidate, generic.StreamObject):
            stream = candidate
            break
    if stream is None:
        raise InputError(f"embedded file {key or '(annotation)'!r} has no file stream")
    for entry in ("/UF", "/F"):
        name = _get(spec, entry)
        if isinstance(name, str) and name:
            return str(name), bytes(stream.data)
    if not key:
        raise InputError("an embedded file has no name")
    return key, bytes(stream.data)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
