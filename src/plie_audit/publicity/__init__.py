"""The *mention « fonds social européen »*: is the ESF's support written on a publication?

Article 11 a) of the ANPE-PLIE convention: « Les publications et communications relatives aux
actions cofinancées doivent faire apparaître expressément la mention « fonds social
européen » ». Each programming period adds its own rules (Reg. (CE) 1828/2006 art. 9 for
2007-2013, and so on), kept as data in ``publicity/rules/*.toml``.

- ``extract``: the text of a PDF, DOCX, ODT, HTML or plain-text file, each piece with where it
  sits (``page 2, line 14``); the format comes from the bytes, never the file name.
- ``rules``: the text elements and visual points of one period, validated on load.
- ``check``: ``check_file(path, programme)`` gives a ``PublicityResult`` (``pass``, ``fail`` or
  ``undetermined``) with the evidence found, what is missing and what a person must look at.
  ``inspect(path, programme)`` is the same check for the archive's filing: a result for any
  bytes (``undetermined`` with its ``problem`` when the text cannot be read, even without
  ``pdftotext``); it raises only ``InputError`` (unknown programme, unreadable path).

A text check cannot judge the EU emblem, fonts, colours or placement: those are always listed
in ``to_check_visually``.
"""
