"""All configuration, declared as data, parsed and validated once.

Each setting is one `declare(...)` on a frozen dataclass: its variable, how its text is read (a
kind), its default, whether it changes predictions, whether it is a secret, and the line the README
table shows. The app's settings are three groups assembled into `Settings`; gunicorn's own are
`GunicornSettings`. Everything else is derived from the declarations: `from_env`, the masked
`public_summary`, the model_version digest (labelstudio/versioning.py), the README table
(`python -m ocr_backend.settings --readme README.md`) and the Docker default checks
(tests/contracts/test_docker.py).

    kinds.py         how a variable's text becomes a value (Flag, Number, Choice, Url, ...)
    declaration.py   Setting, `declare`, reading declarations from an environment
    prediction.py    declarations: models, language, thresholds, what a prediction contains
    inference.py     declarations: weights, device, engine, threads, batch and input sizes
    serving.py       declarations: Label Studio access, bounds on images/tasks/requests, auth, cache
    assembly.py      Settings (the three groups in one value) and its cross-field checks
    gunicorn.py      GunicornSettings: what gunicorn.conf.py reads (HOST, PORT, WORKERS, ...)
    readme.py        the README's Configuration table and the command that rewrites it

The entry points read the environment (`Settings.from_env`: model.py, gunicorn.conf.py's start-up
check, the gunicorn worker, the CLI commands; `GunicornSettings.from_env`: gunicorn.conf.py) and
hand the value down; an invalid value stops start-up there with a message naming the variable, the
value and what is allowed. Outside these declarations, _wsgi.py's logging set-up and its
`python _wsgi.py` options, and the CLI's --url/--api-key fallbacks, still read a few variables
directly.
"""

from ocr_backend.errors import ConfigError
from ocr_backend.settings.assembly import SETTINGS, Settings
from ocr_backend.settings.declaration import Setting, declare
from ocr_backend.settings.gunicorn import GUNICORN_SETTINGS, GunicornSettings
from ocr_backend.settings.kinds import (
    Choice,
    Device,
    Flag,
    Integer,
    Kind,
    Language,
    Number,
    Text,
    Url,
    Variant,
    env_text,
    label_studio_url,
)
from ocr_backend.settings.readme import README_FIX, main, replace_settings_table, settings_table

__all__ = [
    "GUNICORN_SETTINGS",
    "README_FIX",
    "SETTINGS",
    "Choice",
    "ConfigError",
    "Device",
    "Flag",
    "GunicornSettings",
    "Integer",
    "Kind",
    "Language",
    "Number",
    "Setting",
    "Settings",
    "Text",
    "Url",
    "Variant",
    "declare",
    "env_text",
    "label_studio_url",
    "main",
    "replace_settings_table",
    "settings_table",
]
