"""Pure code: geometry, reading order, tiling and the one strict URL reader. No I/O, no models."""
