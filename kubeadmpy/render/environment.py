"""The one Jinja2 environment every rendered file goes through.

StrictUndefined makes a missing value an error instead of an empty string in a node's config;
autoescape is off because the targets are YAML/TOML/INI, whose quoting the filters in
`kubeadmpy.render.quoting` handle. Templates live in the repository's top-level templates/
folder, which the wheel ships as kubeadmpy/_templates; both locations are searched.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.render import quoting

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = (_PACKAGE_DIR / "_templates", _PACKAGE_DIR.parent / "templates")


class RenderError(KubeadmpyError):
    """A file could not be rendered, or did not parse back as the file it should be.

    This is a defect in kubeadmpy (a template and its values disagree), not bad user input:
    user input is rejected earlier with a `ConfigError` naming the field.
    """


@dataclass(frozen=True)
class RenderedFile:
    """One file to write on a node: its content, its permission bits, and notes for the user."""

    content: str
    mode: int
    warnings: tuple[str, ...] = ()


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment (templates are cached after the first load)."""
    searchpath = [str(path) for path in TEMPLATE_DIRS if path.is_dir()]
    if not searchpath:
        raise RenderError(f"no template folder found; looked in {', '.join(map(str, TEMPLATE_DIRS))}")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(searchpath),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        to_yaml=quoting.to_yaml,
        to_nice_yaml=quoting.to_nice_yaml,
        to_json=quoting.to_json,
        toml_str=quoting.toml_str,
        toml_value=quoting.toml_value,
        go_quote=quoting.go_quote,
        systemd_quote=quoting.systemd_quote,
    )
    return env


def render_template(name: str, **values: Any) -> str:
    """Render template `name` with `values`; a missing value or template is a `RenderError`."""
    try:
        return environment().get_template(name).render(**values)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {name}: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {exc.name} not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.name}:{exc.lineno}: {exc.message}") from exc
