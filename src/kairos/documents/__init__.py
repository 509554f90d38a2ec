"""The documents service: files, versions, templates, generated documents, share links, extraction."""
