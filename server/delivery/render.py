"""User-authored email templates, rendered in Jinja2's sandbox.

Marketers write subjects and bodies with personalisation fields: ``Hi {{ first_name |
default("there") }}``. Templates come from people, so:

* they run in ``SandboxedEnvironment``, narrowed further so that a template cannot make the
  engine spend unbounded memory or time: only filters that cannot amplify their input
  (``SAFE_FILTERS``: no ``center``, ``format``, ``replace``, ``wordwrap``, ``safe``…), only a
  few methods of plain values (``SAFE_METHODS``), no ``%`` formatting of strings, repetition
  (``*``), joins and powers (``**``) bounded, ``range`` up to ``MAX_RANGE`` items, no macros
  (so no recursion), no ``set``/``with`` (so no value can grow from one statement to the next),
  loops nested at most ``MAX_LOOP_DEPTH`` deep, and output stopped at ``MAX_OUTPUT_CHARS``.
  These bound the common ways to amplify; a worker with a time limit is the stronger wall and
  belongs to the engine that calls this;
* a missing field is never an error and never prints ``None``: fields that are absent, null
  or empty are *undefined*, which render as nothing, take ``default(...)``, and can be tested
  with ``{% if first_name %}``; the campaign's ``fallbacks`` (``{"first_name": "there"}``) fill
  them before rendering, so a plain ``Hi {{ first_name }}`` reads "Hi there";
* a template that does not compile is ``template_invalid`` (with its line), one that fails while
  rendering is ``template_render_failed``; both are ``DeliveryError``, never a crash.

The subject is rendered as text and folded onto one line (a field with a line break can never
add a header); the HTML body is rendered with autoescaping, the text body without.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import (
    ChainableUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    nodes,
    pass_eval_context,
)
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import DeliveryCode, DeliveryError

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit
MAX_REPEAT_CHARS = 10_000
MAX_EXPONENT = 1_000
MAX_RANGE = 1_000
MAX_LOOP_DEPTH = 2
SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int",
    "join", "last", "length", "lower", "max", "min", "reverse", "round", "sort", "string",
    "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)  # fmt: skip
SAFE_METHODS = frozenset(
    {"capitalize", "endswith", "get", "items", "keys", "lower", "lstrip", "rstrip", "split",
     "startswith", "strip", "title", "upper", "values"}
)  # fmt: skip
_PLAIN = (str, bytes, int, float, list, tuple, dict, set, frozenset)
_SPACES = re.compile(r"\s+")


def _bounded_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise SecurityError(f"range is limited to {MAX_RANGE} items")
    return items


def _bounded_join(join: Any) -> Any:
    """The ``join`` filter, refusing a result longer than MAX_REPEAT_CHARS (a long separator
    between many items multiplies)."""

    @pass_eval_context
    def bounded(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        if len(str(d)) * max(len(items) - 1, 0) > MAX_REPEAT_CHARS:
            raise SecurityError("a joined value would be too long")
        return join(eval_ctx, items, d, attribute)

    return bounded


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, narrowed so that a template cannot exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not (callable(value) and isinstance(obj, _PLAIN) and attr not in SAFE_METHODS)

    def wrap_str_format(self, value: Any) -> None:
        # the sandbox would hand out a guarded str.format; a width of 10**9 still allocates
        # 1 GB, so formatting methods are simply not available
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_REPEAT_CHARS:
                        raise SecurityError("a repeated value would be too long")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT}")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("% formatting of text is not available in templates")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _environment(html: bool) -> _Sandbox:
    env = _Sandbox(
        autoescape=html,
        undefined=ChainableUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.filters = {name: env.filters[name] for name in SAFE_FILTERS}
    env.filters["join"] = _bounded_join(env.filters["join"])
    env.globals = {"range": _bounded_range, "dict": dict}
    return env


def _check_shape(tree: nodes.Template, part: str) -> None:
    """No macros or call blocks (recursion), no loops nested deeper than MAX_LOOP_DEPTH."""

    def depth(node: nodes.Node) -> int:
        inner = max((depth(child) for child in node.iter_child_nodes()), default=0)
        return inner + 1 if isinstance(node, nodes.For) else inner

    if tree.find(nodes.Macro) is not None or tree.find(nodes.CallBlock) is not None:
        raise DeliveryError(DeliveryCode.TEMPLATE_INVALID, f"{part}: macros are not available")
    if any(tree.find(kind) is not None for kind in (nodes.Assign, nodes.AssignBlock, nodes.With)):
        raise DeliveryError(
            DeliveryCode.TEMPLATE_INVALID, f"{part}: set and with are not available"
        )
    if depth(tree) > MAX_LOOP_DEPTH:
        raise DeliveryError(
            DeliveryCode.TEMPLATE_INVALID, f"{part}: loops nest at most {MAX_LOOP_DEPTH} deep"
        )


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


@dataclass(frozen=True, slots=True)
class RenderedContent:
    subject: str
    text: str
    html: str | None = None


@lru_cache(maxsize=4096)
def compile_template(source: str, *, html: bool = False, part: str = "template") -> Template:
    """The compiled template (cached by source); DeliveryError(template_invalid) if it does
    not compile."""
    if not isinstance(source, str):
        raise DeliveryError(DeliveryCode.TEMPLATE_INVALID, f"{part} must be text")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise DeliveryError(
            DeliveryCode.TEMPLATE_INVALID,
            f"{part} is longer than {MAX_TEMPLATE_CHARS:,} characters",
        )
    env = _HTML if html else _TEXT
    try:
        tree = env.parse(source)
        _check_shape(tree, part)
        return env.from_string(tree)
    except TemplateSyntaxError as exc:
        raise DeliveryError(
            DeliveryCode.TEMPLATE_INVALID, f"{part}, line {exc.lineno}: {exc.message}"
        ) from None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def template_context(
    fields: Mapping[str, Any], fallbacks: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The render context: fields that are absent, null or blank are left out (so they are
    undefined), then filled from ``fallbacks``."""
    context = {k: v for k, v in fields.items() if isinstance(k, str) and _present(v)}
    for key, value in (fallbacks or {}).items():
        if key not in context and _present(value):
            context[key] = value
    return context


def render_template(
    source: str,
    fields: Mapping[str, Any],
    *,
    html: bool = False,
    fallbacks: Mapping[str, Any] | None = None,
    part: str = "template",
) -> str:
    """Render one template; DeliveryError(template_invalid | template_render_failed)."""
    template = compile_template(source, html=html, part=part)
    context = template_context(fields, fallbacks)
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise DeliveryError(
                    DeliveryCode.TEMPLATE_RENDER_FAILED,
                    f"{part} renders to more than {MAX_OUTPUT_CHARS:,} characters",
                )
            out.append(chunk)
    except DeliveryError:
        raise
    except (
        TemplateError,  # SecurityError and UndefinedError among them
        ArithmeticError,
        AttributeError,
        LookupError,
        TypeError,
        ValueError,
        RecursionError,
    ) as exc:
        raise DeliveryError(
            DeliveryCode.TEMPLATE_RENDER_FAILED, f"{part}: {type(exc).__name__}: {exc}"
        ) from None
    return "".join(out)


def render_variant(
    variant: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    fallbacks: Mapping[str, Any] | None = None,
) -> RenderedContent:
    """Render a content variant (``subject``, ``body`` and optionally ``html``) for one
    contact's ``fields``."""
    subject = render_template(
        variant.get("subject") or "", fields, fallbacks=fallbacks, part="subject"
    )
    subject = _SPACES.sub(" ", subject).strip()[:MAX_SUBJECT_CHARS]
    text = render_template(variant.get("body") or "", fields, fallbacks=fallbacks, part="body")
    html = None
    if variant.get("html"):
        html = render_template(variant["html"], fields, html=True, fallbacks=fallbacks, part="html")
    return RenderedContent(subject, text, html)


def check_variant(variant: Mapping[str, Any]) -> None:
    """Compile a variant's templates and render them once with no fields, so a campaign with a
    broken template is refused at activation rather than at its first send."""
    render_variant(variant, {})
