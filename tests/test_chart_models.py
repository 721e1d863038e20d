"""Chart record models: what an API item must hold, and the token-free auth config."""

from __future__ import annotations

import logging

import pytest

from bgmscope.acquire.auth import (
    ChartAuth,
    RedactingFilter,
    Redactor,
    load_auth,
    parse_header_options,
)
from bgmscope.acquire.client import parse_retry_after
from bgmscope.acquire.models import ChartItem, validate_item
from bgmscope.errors import ParameterError

GOOD = {"music_id": 6912345678901234567, "title": "生日快乐", "author": "某某", "audition_duration": 15,
        "user_count": "120034", "user_incr": -5, "cover_image": "http://x/y.jpg", "use_trend": [1, 2],
        "hot_awemes": [], "is_fav": False}


def test_valid_item_keeps_fields_and_ignores_extras():
    item, reason = validate_item(GOOD)
    assert reason is None and isinstance(item, ChartItem)
    assert item.music_id == "6912345678901234567"  # numbers become text ids
    assert item.user_count == 120034 and item.user_incr == -5
    assert not hasattr(item, "cover_image") and "cover_image" not in item.model_dump()


@pytest.mark.parametrize("field", ["music_id", "title", "audition_duration", "user_count", "user_incr"])
def test_missing_field_is_rejected_with_its_name(field):
    raw = {k: v for k, v in GOOD.items() if k != field}
    item, reason = validate_item(raw)
    assert item is None and field in reason and "required" in reason.lower()


@pytest.mark.parametrize("field,value", [
    ("user_count", "lots"), ("user_count", -1), ("audition_duration", "3 minutes"), ("user_incr", 1.5),
    ("music_id", "../../etc/passwd"), ("music_id", "a b"), ("music_id", ""), ("music_id", True),
    ("title", None), ("music_id", "x" * 65),
])
def test_ill_typed_field_is_rejected(field, value):
    item, reason = validate_item({**GOOD, field: value})
    assert item is None and reason.startswith(field)


@pytest.mark.parametrize("field,value", [
    ("user_count", 2**63), ("user_count", "9223372036854775808"), ("user_incr", 2**63),
    ("user_incr", -(2**63) - 1), ("audition_duration", float("nan")), ("audition_duration", float("inf")),
    ("audition_duration", "1e400"),
])
def test_numbers_the_catalog_cannot_hold_are_rejected(field, value):
    # BIGINT columns: a count past int64 used to pass here and then fail the whole snapshot's INSERT
    item, reason = validate_item({**GOOD, field: value})
    assert item is None and reason.startswith(field), reason


def test_int64_limits_themselves_are_kept():
    item, reason = validate_item({**GOOD, "user_count": 2**63 - 1, "user_incr": -(2**63)})
    assert reason is None and item.user_count == 2**63 - 1 and item.user_incr == -(2**63)


def test_non_object_item_is_rejected():
    assert validate_item(["not", "a", "dict"]) == (None, "item is list, not an object")


def test_token_from_env_overrides_config(tmp_path, monkeypatch):
    cfg = tmp_path / "chart.toml"
    cfg.write_text('token = "file-token-1234"\nauth_header = "x-auth"\n[headers]\nuser-agent = "UA"\n', "utf-8")
    monkeypatch.delenv("BGMSCOPE_CHART_TOKEN", raising=False)
    a = load_auth(cfg)
    assert (a.token, a.auth_header, a.headers) == ("file-token-1234", "x-auth", {"user-agent": "UA"})
    monkeypatch.setenv("BGMSCOPE_CHART_TOKEN", "env-token-5678")
    assert load_auth(cfg, headers={"referer": "r"}).token == "env-token-5678"
    assert "env-token-5678" not in repr(load_auth(cfg)) and "file-token" not in repr(a)


def test_bad_config_and_headers_fail_fast(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("token = [unclosed", "utf-8")
    with pytest.raises(ParameterError, match="not a valid TOML"):
        load_auth(bad)
    with pytest.raises(ParameterError, match="no chart config"):
        load_auth(tmp_path / "absent.toml")
    with pytest.raises(ParameterError, match="Name: value"):
        parse_header_options(["no-colon"])
    assert parse_header_options(["Referer: https://x/y:z"]) == {"Referer": "https://x/y:z"}


def test_redacting_filter_scrubs_formatted_messages():
    secret = "s3cr3t-token-value"
    rec = logging.LogRecord("bgmscope.acquire", logging.INFO, __file__, 1, "sent %s to %s", (secret, "host"), None)
    RedactingFilter(Redactor(secret)).filter(rec)
    assert secret not in rec.getMessage() and "[redacted]" in rec.getMessage()
    assert ChartAuth(token=secret).__repr__().count(secret) == 0


def test_parse_retry_after_seconds_and_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
