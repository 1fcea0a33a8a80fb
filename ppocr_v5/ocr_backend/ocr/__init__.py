"""OCR: the PaddleX pipeline and the runners put in it, recognisers, page reading, weights (model
names are core/catalogue.py's)."""
