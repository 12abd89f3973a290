"""Which form a submit button really submits, as an HTML parser in a browser decides.

Browsers ignore a <form> start tag met inside an open form (HTML's "form element pointer"), so
the inner form's button submits the outer form. A button's `form="id"` attribute overrides its
ancestor form. Tests use this to submit a page's button the way a browser would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    id: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Button:
    label: str
    owner: Form | None
    form_attr: str | None = None
    name: str | None = None


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.buttons: list[Button] = []
        self.open_form: Form | None = None
        self._button: Button | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            if self.open_form is None:  # a nested <form> start tag is dropped, as browsers do
                self.open_form = Form(attributes.get("action", ""), attributes.get("method", "get").lower(),
                                      attributes.get("id", ""))
                self.forms.append(self.open_form)
            return
        if tag == "input" and attributes.get("type") in {"submit", "button"}:
            self.buttons.append(Button(attributes.get("value", ""), self.open_form, attributes.get("form"),
                                       attributes.get("name")))
            return
        if tag == "button":
            self._button = Button("", self.open_form, attributes.get("form"), attributes.get("name"))
            self.buttons.append(self._button)
            return
        unchecked = tag == "input" and attributes.get("type") in {"checkbox", "radio"} and "checked" not in attributes
        if tag in {"input", "select", "textarea"} and attributes.get("name") and self.open_form and not unchecked:
            self.open_form.fields.setdefault(attributes["name"], attributes.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.open_form = None
        elif tag == "button" and self._button is not None:
            self._button.label = " ".join(self._button.label.split())
            self._button = None


def submitted_form(html: str, label: str) -> Form | None:
    """The form a browser submits when the button labelled `label` is pressed."""
    parser = _FormParser()
    parser.feed(html)
    by_id = {form.id: form for form in parser.forms if form.id}
    for button in parser.buttons:
        if button.label == label:
            return by_id.get(button.form_attr) if button.form_attr else button.owner
    raise AssertionError(f"no button labelled {label!r}")
