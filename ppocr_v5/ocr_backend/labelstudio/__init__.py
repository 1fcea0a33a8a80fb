"""The Label Studio protocol: label config, result encoding and decoding, model_version."""
