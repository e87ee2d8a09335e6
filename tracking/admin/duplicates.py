"""Duplicates caught on the admin forms: the error names the record that has the value.

Django's own unique check says only "Asset with this sha256 already exists.", which
leaves the reader to search for it. These forms say which record it is and link to
its change page. The rules are the database's (the unique constraints on
``sha256sum`` and ``civitai_id``) plus the one ``create_asset`` applies to a file it
cannot hash: without a sha256, the same ``asset_url`` twice is the duplicate.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext


def existing_record_link(obj) -> str:
    """``<a href="…/change/">asset #3</a>``: the change page of ``obj``, safe HTML."""
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}" class="duplicate-of">{}</a>', url, str(obj))


def duplicate_error(obj, field_label: str) -> ValidationError:
    """The error for a value ``obj`` already has, naming and linking ``obj``."""
    return ValidationError(
        format_html(
            "{} {}",
            gettext("%(model)s with this %(field)s already exists:")
            % {"model": capfirst(obj._meta.verbose_name), "field": field_label},
            existing_record_link(obj),
        ),
        code="duplicate",
    )


class DuplicateLinkForm(forms.ModelForm):
    """A model form whose unique fields, when taken, name the record that has them."""

    def other_with(self, field: str, value):
        """The record other than this one whose ``field`` is ``value``, or None."""
        qs = type(self.instance)._default_manager.filter(**{field: value})
        if self.instance.pk is not None:
            qs = qs.exclude(pk=self.instance.pk)
        return qs.order_by("pk").first()

    def unique_field_names(self) -> list[str]:
        """Fields unique by ``unique=True`` or by a one-field ``UniqueConstraint``
        (``Asset.sha256sum``: Django's constraint check then skips the field, which
        already has this form's error)."""
        opts = self.instance._meta
        names = [f.name for f in opts.fields if f.unique and not f.primary_key]
        names += [c.fields[0] for c in opts.total_unique_constraints if len(c.fields) == 1]
        return [name for name in dict.fromkeys(names) if name in self.fields]

    def validate_unique(self):
        exclude = set(self._get_validation_exclusions())
        for name in self.unique_field_names():
            value = self.cleaned_data.get(name)
            if name in exclude or name in self._errors or value in (None, ""):
                continue
            exclude.add(name)  # this check replaces Django's wordless one
            other = self.other_with(name, value)
            if other is not None:
                self.add_error(name, duplicate_error(other, str(self.fields[name].label)))
        try:
            self.instance.validate_unique(exclude=exclude)
        except ValidationError as exc:
            self._update_errors(exc)
