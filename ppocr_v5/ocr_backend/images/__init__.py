"""Images in: URL reading, fetching (SSRF and credential rules), decoding, crops."""
