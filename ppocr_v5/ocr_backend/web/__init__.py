"""HTTP: what this backend adds to label-studio-ml's Flask app."""
