"""With the Learning Core stores on, the platform's ``CONTENTSTORE`` answers a course at stage ``full`` from
Learning Core and every other course from Split's contentstore (#10), built as edx-platform builds it."""
from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api
from lc_runtime.stages import set_stage
from modulestore_compat.contentstore import ReadOnlyContentStoreError, compute_location
from modulestore_compat.contentstore.content import StaticContent
from modulestore_compat.plugin_settings import plugin_settings

from .olx_builder import standard_course
from .test_course_files import split_import

EMBEDDED = "modulestore_compat.contentstore.embedded.DjangoContentStore"
FULL, SPLIT = CourseLocator("TestX", "T101", "2026"), CourseLocator("TestX", "T101", "split")


def platform_contentstore(settings, name="default"):
    """What edx-platform's ``xmodule.contentstore.django.contentstore(name)`` builds from the setting."""
    module, _, cls = settings.CONTENTSTORE["ENGINE"].rpartition(".")
    options = dict(settings.CONTENTSTORE["DOC_STORE_CONFIG"])
    options.update(settings.CONTENTSTORE.get("ADDITIONAL_OPTIONS", {}).get(name, {}))
    return getattr(import_module(module), cls)(**options)


def settings_with(contentstore, enabled=True):
    return SimpleNamespace(LC_RUNTIME_FACADE_ENABLED=enabled, CONTENTSTORE=contentstore,
                           MODULESTORE={"default": {"OPTIONS": {"stores": [{"NAME": "split", "ENGINE": "split"}]}}})


def test_the_setting_names_the_router_with_the_engine_it_had_only_when_enabled():
    settings = settings_with({"ENGINE": EMBEDDED, "DOC_STORE_CONFIG": {}})
    plugin_settings(settings)
    plugin_settings(settings)  # common then production: applied once
    assert settings.CONTENTSTORE == {"ENGINE": "modulestore_compat.contentstore.routing.RoutingContentStore",
                                     "DOC_STORE_CONFIG": {"split_engine": EMBEDDED}}
    disabled = settings_with({"ENGINE": EMBEDDED, "DOC_STORE_CONFIG": {}}, enabled=False)
    plugin_settings(disabled)
    assert disabled.CONTENTSTORE["ENGINE"] == EMBEDDED


@pytest.mark.slow  # two imports and a stage switch; ~5-19 s on a loaded machine
@pytest.mark.usefixtures("rollback")
def test_a_full_course_is_answered_by_learning_core_and_the_others_by_split(tmp_path, capsys):
    olx = standard_course(tmp_path / "olx")
    (olx / "static").mkdir()
    (olx / "static" / "a.txt").write_text("from the OLX")
    api.import_olx(olx)
    set_stage(FULL, "full", changed_by="test", reason="routing")
    (olx / "static" / "a.txt").write_text("in Split")
    split_import(olx, SPLIT, capsys)
    settings = settings_with({"ENGINE": EMBEDDED, "DOC_STORE_CONFIG": {}})
    plugin_settings(settings)
    store = platform_contentstore(settings)

    assert store.find(compute_location(FULL, "a.txt")).data == b"from the OLX"
    assert store.find(compute_location(SPLIT, "a.txt")).data == b"in Split"
    assert [a["displayname"] for a in store.get_all_content_for_course(FULL)[0]] == ["a.txt"]
    with pytest.raises(ReadOnlyContentStoreError, match="TestX\\+T101\\+2026"):
        store.save(StaticContent(compute_location(FULL, "b.txt"), "b.txt", "text/plain", b"new"))
    store.save(StaticContent(compute_location(SPLIT, "b.txt"), "b.txt", "text/plain", b"new"))
    assert store.find(compute_location(SPLIT, "b.txt")).data == b"new"

    set_stage(FULL, "split", changed_by="test", reason="rolled back")  # its files are Split's again
    assert store.find(compute_location(FULL, "a.txt"), throw_on_not_found=False) is None
