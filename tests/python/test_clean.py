"""Cleaners from Python: values, flags and reasons as dicts; bad input raises."""
import pytest

import crm


def test_phone_forms_meet():
    for raw in ["+86 139 1234 5670", "0086-139-1234-5670", "１３９１２３４５６７０"]:
        r = crm.clean("phone", raw)
        assert r["value"] == "13912345670"
        assert "changed" in r["flags"]


def test_phone_flags_and_reasons():
    r = crm.clean("phone", "170 1234 5679")
    assert r["flags"] == ["changed", "virtual"]
    assert r["reasons"] == ["separators_removed", "virtual_segment"]
    r = crm.clean("phone", "12012345678")
    assert r["value"] is None
    assert "invalid" in r["flags"] and r["reasons"] == ["unallocated_segment"]


def test_name_key_and_salutation():
    assert crm.clean("name", "张伟")["key"] == crm.clean("name", "Wei Zhang")["key"] == "weizhang"
    r = crm.clean("name", "王女士")
    assert (r["value"], r["salutation"]) == ("王", "女士")
    assert crm.clean("name", "测试")["flags"] == ["changed", "placeholder"]


def test_region_id_card_vin_email():
    r = crm.clean("region", "沪")
    assert (r["province"], r["city"], r["value"]) == ("310000", "310100", "上海市")
    assert crm.clean("id_card", "11010519491231002x")["value"] == "11010519491231002X"
    assert crm.clean("id_card", "110105194912310021")["reasons"] == ["checksum"]
    assert crm.clean("vin", "LSVAU2180N2183294")["reasons"] == ["check_digit"]
    assert crm.clean("email", "A@B.COM")["value"] == "a@b.com"


def test_clean_lead():
    out = crm.clean_lead({"channel": "web", "phone": "+86 139 1234 5670", "name": "Mr Li Na",
                          "province": "浙江", "city": "杭州", "email": "nope"})
    assert out["phone"] == "13912345670"
    assert out["name"] == "Li Na"
    assert (out["province"], out["city"]) == ("330000", "330100")
    assert "email" not in out
    assert out["clean"]["quality"] == "suspect"
    assert out["clean"]["email"]["reasons"] == ["not_one_at_sign"]


def test_bad_input_raises():
    with pytest.raises(crm.InvalidInputError, match="kind: unknown cleaner 'fax'"):
        crm.clean("fax", "1")
    with pytest.raises(crm.InvalidInputError, match="lead: expected a JSON object"):
        crm.clean_lead("[1]")
    with pytest.raises(crm.InvalidInputError, match="phone: expected a string"):
        crm.clean_lead({"phone": 139})
