"""OCR: the PaddleX pipeline, recognisers, model names and weights."""
