"""SEDA 2.2 messages: write them, check them, read the replies.

SEDA (*Standard d'échange de données pour l'archivage*) is the French standard for the
messages exchanged between an archives service and its partners: a transfer of records
(``ArchiveTransfer``, the *versement*), a request for the control authority's approval before
records are destroyed (``AuthorizationControlAuthorityRequest``, the *visa d'élimination*), and
the replies to both. Version 2.2 is published by the Service interministériel des Archives de
France; its XML schemas are kept, unchanged, in ``schemas/`` (see ``schemas/SOURCE.md``).

The package has no knowledge of the archive's database. It works on plain values:

- ``model``: frozen dataclasses describing a message (no XML in them);
- ``write``: turns a transfer or an authorization request into XML bytes, and refuses to
  return a message that does not validate;
- ``schema``: validates bytes against the packaged schemas (offline), checks what the schema
  cannot (references between ids, and the files a transfer names);
- ``read``: reads a transfer reply or an authorization reply, safely;
- ``formats``: the PRONOM format identifier of a file, from its first bytes, where sure.
"""
