"""The two catalogues: same keys, and every sentence and label really translated."""

from __future__ import annotations

import re

from btcmacro.report.i18n import load_catalog_dict

CJK = re.compile(r"[\u4e00-\u9fff]")
#: tables whose zh-TW values must contain Chinese (not just numbers or codes)
TRANSLATED = ("s.", "section.", "section_short.", "label.", "ui.", "status.", "summary.", "regime.", "state.",
              "chart.title.", "reason.", "note.", "fomc_note.", "release_note.", "scenario.", "level.method.",
              "level.kind.", "bs.")
#: values that legitimately read the same in both languages (codes, pure templates)
SAME = {"state.none", "label.na", "section_short.fomc", "regime.line", "level.zone", "s.generic",
        "scenario.trigger"}


def test_same_keys():
    en, zh = load_catalog_dict("en"), load_catalog_dict("zh-TW")
    assert set(en) == set(zh), (set(en) ^ set(zh))


def test_zh_values_are_chinese():
    zh = load_catalog_dict("zh-TW")
    bad = [k for k, v in zh.items()
           if k.startswith(TRANSLATED) and k not in SAME and v != "{{ text }}" and not CJK.search(str(v))]
    assert not bad, bad
