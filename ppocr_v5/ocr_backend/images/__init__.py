"""Images in: what an image value points at, fetching (SSRF and credential rules, one fetcher per
credentials), decoding under the worker's pixel budget, crops, and a PDF's own text layer."""
