"""Building blocks of the PP-OCRv5 Label Studio backend; model.py wires them together."""
