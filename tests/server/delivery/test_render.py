import pytest

from server.delivery.errors import DeliveryCode, DeliveryError
from server.delivery.render import check_variant, render_template, render_variant


def test_personalisation_with_defaults_and_fallbacks_never_prints_none():
    fields = {"first_name": None, "company": "  ", "venue": "Barn at Bath"}
    assert render_template('Hi {{ first_name | default("there") }}', fields) == "Hi there"
    assert render_template("Hi {{ first_name }}, {{ company }}!", fields) == "Hi , !"
    assert (
        render_template("Hi {{ first_name }}", fields, fallbacks={"first_name": "there"})
        == "Hi there"
    )
    assert (
        render_template(
            "{% if company %}at {{ company }}{% else %}at {{ venue }}{% endif %}", fields
        )
        == "at Barn at Bath"
    )
    assert render_template("{{ contact.address.city }}.", {}) == "."
    assert "None" not in render_template("{{ first_name }}{{ missing }}", fields)


def test_the_contacts_own_value_wins_over_the_fallback():
    assert (
        render_template(
            "Hi {{ first_name }}", {"first_name": "Ana"}, fallbacks={"first_name": "there"}
        )
        == "Hi Ana"
    )


def test_html_is_escaped_and_text_is_not():
    variant = {
        "subject": "For {{ name }}",
        "body": "Dear {{ name }}",
        "html": "<p>Dear {{ name }}</p>",
    }
    content = render_variant(variant, {"name": "<Ana & Ben>"})
    assert content.html == "<p>Dear &lt;Ana &amp; Ben&gt;</p>"
    assert content.text == "Dear <Ana & Ben>"
    assert content.subject == "For <Ana & Ben>"


def test_a_field_with_a_line_break_cannot_add_a_header():
    content = render_variant(
        {"subject": "Hi {{ name }}", "body": "x"}, {"name": "Ana\r\nBcc: all@example.com"}
    )
    assert "\n" not in content.subject and "\r" not in content.subject


@pytest.mark.parametrize(
    "source",
    [
        "{% if x %}",
        "{{ name | nosuchfilter }}",
        "{% macro f() %}{{ f() }}{% endmacro %}",
        "{% set s = 1 %}",
        "{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}",
        "x" * 100_001,
    ],
)
def test_templates_that_do_not_compile_are_template_invalid(source):
    with pytest.raises(DeliveryError) as err:
        render_template(source, {})
    assert err.value.code == DeliveryCode.TEMPLATE_INVALID


@pytest.mark.parametrize(
    "source",
    [
        "{{ 1 / 0 }}",
        "{{ missing.call() }}",
        '{{ "x" * 100000 }}',
        "{{ 2 ** 100000 }}",
        '{{ "%99999999d" % 1 }}',
        '{{ "x".center(100000000) }}',
        '{{ "{:>999999999}".format(1) }}',
        "{% for i in range(100000) %}{% endfor %}",
        '{% for i in range(1000) %}{% for j in range(1000) %}{{ "x" * 10 }}{% endfor %}{% endfor %}',
        '{{ ("x" * 9000) | join("y" * 9000) }}',
    ],
)
def test_templates_that_fail_or_run_away_are_template_render_failed(source):
    with pytest.raises(DeliveryError) as err:
        render_template(source, {})
    assert err.value.code == DeliveryCode.TEMPLATE_RENDER_FAILED


def test_the_sandbox_hides_internals():
    assert render_template("{{ ''.__class__.__mro__ }}", {}) == ""
    assert render_template("{{ range.__globals__ }}{{ cycler }}{{ lipsum }}", {}) == ""
    assert render_template("{{ name.format }}{{ name['format'] }}", {"name": "x"}) == ""


def test_ordinary_template_features_work():
    fields = {"name": "ana", "tags": ["venue", "florist"], "budget": 12.5}
    source = "{{ name | title }}: {{ tags | join(', ') }}; {{ budget | round | int }}; {{ name.upper() }}"
    assert render_template(source, fields) == "Ana: venue, florist; 12; ANA"
    assert (
        render_template("{% for t in tags %}[{{ loop.index }} {{ t }}]{% endfor %}", fields)
        == "[1 venue][2 florist]"
    )


def test_check_variant_refuses_a_broken_variant_before_it_is_sent():
    check_variant({"subject": "Hi {{ first_name | default('there') }}", "body": "ok"})
    with pytest.raises(DeliveryError) as err:
        check_variant({"subject": "ok", "body": "{{ 1 / 0 }}"})
    assert err.value.code == DeliveryCode.TEMPLATE_RENDER_FAILED
    assert "body" in err.value.message
