"""French PDF documents: the retention audit, the *bordereau d'élimination* and the
*certificat d'élimination*, rendered from Jinja2 templates to PDF/A-3b with WeasyPrint.

Each document can carry its JSON twin as an embedded file; ``plie_audit.signing.pades``
signs the result (PAdES, incremental update, so the PDF/A part stays as rendered).
"""
