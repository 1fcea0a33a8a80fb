"""PaddleX's download of official models by name, answered as the tests need it."""

from typing import Any


def offline(monkeypatch: Any, message: str = "no route to host") -> None:
    """Every download by name fails, as it does where no model hub can be reached."""
    import paddlex.inference.utils.official_models as hub

    def refuse(name, model_formats=None):
        raise ConnectionError(message)

    monkeypatch.setattr(hub.official_models, "get_model_path", refuse)
