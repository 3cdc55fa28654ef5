"""Canned replies' variables: filled from a fixed table by a strict substitution, whatever the
template holds."""

from __future__ import annotations

import time

import pytest

from hub.domain.canned import VARIABLES, ConversationFacts, render, variable_values

FACTS = ConversationFacts(
    conversation_id=42,
    contact_name="王芳",
    contact_email="wang.fang@example.cn",
    contact_phone="+8613800138000",
    channel_name="Shop web chat 商店",
)
VALUES = variable_values(FACTS, "Li Na 李娜")


def test_every_variable_is_filled_from_the_conversation_and_the_agent() -> None:
    template = " | ".join("{{" + name + "}}" for name in VARIABLES)
    assert render(template, VALUES) == (
        "王芳 | wang.fang@example.cn | +8613800138000 | Li Na 李娜 | 42 | Shop web chat 商店"
    )


def test_spaces_inside_the_braces_are_allowed() -> None:
    assert (
        render("您好，{{ contact.name }}！我是{{agent.name  }}。", VALUES)
        == "您好，王芳！我是Li Na 李娜。"
    )


def test_an_empty_value_renders_as_empty_text() -> None:
    values = variable_values(
        ConversationFacts(7, "Visitor 访客 #a1b2c3", None, None, "Web"), "Li Na"
    )
    assert render("[{{contact.email}}][{{contact.phone}}]", values) == "[][]"


@pytest.mark.parametrize(
    "template",
    [
        "{{__class__}}",
        "{{contact.__dict__}}",
        "{{contact.name.__class__.__mro__}}",
        "{{contact['name']}}",
        "{{ contact.name|upper }}",
        "{{ contact.name() }}",
        "{{ self }}",
        "{{ config }}",
        "{{ __import__('os').system('id') }}",
        "{{ lipsum.__globals__ }}",
        "{{Contact.Name}}",
        "{{}}",
        "{{ }}",
        "{{agent}}",
        "{{conversation}}",
    ],
)
def test_an_unknown_variable_renders_as_empty_text_never_as_code(template: str) -> None:
    assert render(f"<{template}>", VALUES) == "<>"


@pytest.mark.parametrize(
    "template",
    [
        "{0} {1!r} {contact.name} {contact.__class__}",
        "%s %d %(name)s %%",
        "${contact.name} #{contact.name} <%= contact.name %>",
        "{% for x in range(9) %}{% endfor %} {# note #}",
        "{ {contact.name} }",
        "{{contact.name}",
        "{contact.name}}",
        "}}{{",
    ],
)
def test_other_template_syntaxes_stay_as_written(template: str) -> None:
    assert render(template, VALUES) == template


def test_nested_braces_fill_only_the_innermost_name_once() -> None:
    assert render("{{{{contact.name}}}}", VALUES) == "{{王芳}}"
    assert render("{{contact.{{conversation.id}}}}", VALUES) == "{{contact.42}}"


def test_a_filled_value_is_never_read_again() -> None:
    """A customer who calls themselves {{agent.name}} is shown by that name, not the agent's."""
    values = variable_values(
        ConversationFacts(1, "{{agent.name}} {{__class__}} {0} %s", None, None, "{{channel.name}}"),
        "Li Na",
    )
    assert render("Hi {{contact.name}} on {{channel.name}}", values) == (
        "Hi {{agent.name}} {{__class__}} {0} %s on {{channel.name}}"
    )


def test_a_name_longer_than_any_variable_is_left_as_it_is() -> None:
    long = "{{" + "contact.name" * 10 + "}}"
    assert render(long, VALUES) == long


@pytest.mark.parametrize(
    "template",
    [
        "{{" * 200_000,
        "{{" + " " * 400_000,
        "{{" + "a" * 400_000 + "}",
        ("{{" + "x" * 63) * 6_000,
        "}}" * 200_000,
    ],
    ids=["open-braces", "spaces", "one-long-name", "near-names", "close-braces"],
)
def test_very_long_hostile_input_takes_linear_time(template: str) -> None:
    started = time.perf_counter()
    assert render(template, VALUES) == template
    assert time.perf_counter() - started < 1.0


def test_many_variables_fill_in_linear_time() -> None:
    template = "{{contact.name}}," * 100_000
    started = time.perf_counter()
    assert render(template, VALUES) == "王芳," * 100_000
    assert time.perf_counter() - started < 1.0


def test_values_outside_the_table_are_never_used() -> None:
    """Only the six variables exist, even when a caller hands in more."""
    assert render("{{secret}}{{contact.name}}", {**VALUES, "secret": "s3cr3t"}) == "王芳"
