"""Control packs (*packs de contrôle*): what plie-audit hands to an audit authority.

``bagit`` reads, validates and writes BagIt bags (RFC 8493), the container a pack travels in.
"""
