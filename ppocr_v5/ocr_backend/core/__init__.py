"""Pure code: geometry, reading order, tiling, the one strict URL reader, the PP-OCR catalogue. No I/O, no models."""
