"""general-glo/ded-ciphering: parsing, CTR decrypt, GCM tag check, key errors, no key leaks."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder.axdr import TruncatedError
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.push import Security
from custom_components.swiss_meter_cii.decoder.security import (
    Decryptor,
    ciphered_size,
    parse_ciphered,
)

from . import AUTH_KEY, KEY, SYSTEM_TITLE, glo_ciphering, notification, power_body

PLAIN = notification(power_body())


def test_parse_header() -> None:
    apdu = glo_ciphering(PLAIN, counter=0x00177BCA, sc=0x30, auth_key=AUTH_KEY)
    parsed, end = parse_ciphered(apdu)
    assert end == len(apdu) == ciphered_size(apdu, 0)
    assert parsed.tag == 0xDB
    assert parsed.system_title == SYSTEM_TITLE
    assert parsed.security_control == 0x30
    assert parsed.invocation_counter == 0x00177BCA
    assert parsed.auth_tag is not None
    assert len(parsed.auth_tag) == 12
    assert len(parsed.payload) == len(PLAIN)


def test_long_lengths() -> None:
    big = notification(b"\x09\x82\x01\x00" + bytes(256))
    apdu = glo_ciphering(big)
    assert apdu[10:12] == b"\x82\x01"
    parsed, end = parse_ciphered(apdu + b"\x0f")
    assert end == len(apdu)
    assert Decryptor(KEY, None).decrypt(parsed).plaintext == big


@pytest.mark.parametrize("sc", [0x20, 0x21])
def test_encryption_only(sc: int) -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, sc=sc))
    assert parsed.auth_tag is None
    result = Decryptor(KEY, None).decrypt(parsed)
    assert result.plaintext == PLAIN
    assert result.security is Security.ENCRYPTED
    assert not result.tag_failed


def test_dedicated_ciphering_tag() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, tag=0xDC))
    assert parsed.tag == 0xDC
    assert Decryptor(KEY, None).decrypt(parsed).plaintext == PLAIN


def test_tag_verified_with_gak() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, sc=0x30, auth_key=AUTH_KEY))
    result = Decryptor(KEY, AUTH_KEY).decrypt(parsed)
    assert result.plaintext == PLAIN
    assert result.security is Security.AUTHENTICATED


def test_tag_without_gak_decrypts_unverified() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, sc=0x30, auth_key=AUTH_KEY))
    result = Decryptor(KEY, None).decrypt(parsed)
    assert result.plaintext == PLAIN
    assert result.security is Security.ENCRYPTED


def test_wrong_gak_flags_tag_failure_with_right_plaintext() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, sc=0x30, auth_key=AUTH_KEY))
    result = Decryptor(KEY, bytes(16)).decrypt(parsed)
    assert result.tag_failed
    assert result.plaintext == PLAIN


def test_wrong_guek_gives_other_plaintext() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN, sc=0x30, auth_key=AUTH_KEY))
    result = Decryptor(bytes(16), AUTH_KEY).decrypt(parsed)
    assert result.tag_failed
    assert result.plaintext != PLAIN


def test_missing_key() -> None:
    parsed, _ = parse_ciphered(glo_ciphering(PLAIN))
    with pytest.raises(DecodeError) as err:
        Decryptor(None, None).decrypt(parsed)
    assert err.value.kind is ErrorKind.MISSING_KEY


def test_authentication_only() -> None:
    # SC 0x10: payload in clear, tag over SC || AK || payload (GMAC).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    iv = SYSTEM_TITLE + (7).to_bytes(4, "big")
    tag = AESGCM(KEY).encrypt(iv, b"", b"\x10" + AUTH_KEY + PLAIN)[:12]
    content = b"\x10" + (7).to_bytes(4, "big") + PLAIN + tag
    apdu = b"\xdb\x08" + SYSTEM_TITLE + bytes((len(content),)) + content
    parsed, _ = parse_ciphered(apdu)
    assert Decryptor(KEY, AUTH_KEY).decrypt(parsed).security is Security.AUTHENTICATED
    assert Decryptor(None, None).decrypt(parsed).plaintext == PLAIN
    with pytest.raises(DecodeError) as err:
        Decryptor(KEY, bytes(16)).decrypt(parsed)
    assert err.value.kind is ErrorKind.AUTH_FAILED


def test_no_security() -> None:
    content = b"\x00\x00\x00\x00\x01" + PLAIN
    apdu = b"\xdb\x08" + SYSTEM_TITLE + bytes((len(content),)) + content
    parsed, _ = parse_ciphered(apdu)
    result = Decryptor(None, None).decrypt(parsed)
    assert (result.plaintext, result.security) == (PLAIN, Security.NONE)


@pytest.mark.parametrize(("sc", "message"), [(0xA0, "compressed"), (0x22, "suite 2")])
def test_unsupported_security_control(sc: int, message: str) -> None:
    content = bytes((sc,)) + b"\x00\x00\x00\x01" + PLAIN
    apdu = b"\xdb\x08" + SYSTEM_TITLE + bytes((len(content),)) + content
    parsed, _ = parse_ciphered(apdu)
    with pytest.raises(DecodeError, match=message) as err:
        Decryptor(KEY, None).decrypt(parsed)
    assert err.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize(
    ("apdu", "kind"),
    [
        (b"\xdb\x05" + bytes(20), DecodeError),  # system title of 5 bytes
        (b"\xdb\x08" + SYSTEM_TITLE + b"\x03\x20\x00\x00", DecodeError),  # too short
        (b"\xdb\x08" + SYSTEM_TITLE + b"\x10\x30" + bytes(10), DecodeError),  # no room for tag
        (b"\xdb\x08" + SYSTEM_TITLE + b"\x40\x20", TruncatedError),
        (b"\xdb\x08" + SYSTEM_TITLE[:3], TruncatedError),
        (b"\x0f\x00", DecodeError),
    ],
)
def test_bad_headers(apdu: bytes, kind: type[Exception]) -> None:
    with pytest.raises(kind) as err:
        parse_ciphered(apdu)
    assert isinstance(err.value, DecodeError)
    assert err.value.kind is ErrorKind.MALFORMED


def test_keys_never_in_repr() -> None:
    decryptor = Decryptor(KEY, AUTH_KEY)
    text = repr(decryptor)
    assert "set" in text
    for secret in (KEY, AUTH_KEY):
        assert secret.hex() not in text.lower()
        assert repr(secret) not in text
    assert not hasattr(decryptor, "__dict__")


def test_bad_key_length() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Decryptor(b"\x01" * 15, None)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=300),
    counter=st.integers(0, 0xFFFFFFFF),
    sc=st.sampled_from((0x10, 0x20, 0x30)),
    flip=st.one_of(st.none(), st.integers(0, 12 * 8 - 1)),
    gak=st.booleans(),
)
def test_agrees_with_textbook_gcm(
    payload: bytes, counter: int, sc: int, flip: int | None, gak: bool
) -> None:
    """The reusable-key path gives what cryptography's GCM decryptor gives, tag for tag.

    security.py decrypts by encrypting with AESGCM (one key schedule per key, 12-byte
    tags checked by recomputing the full tag); this compares it with the textbook
    `Cipher(AES, GCM(iv, tag, min_tag_length=12))` on any payload, counter and tag bit.
    """
    iv = SYSTEM_TITLE + counter.to_bytes(4, "big")
    aad = bytes((sc,)) + AUTH_KEY
    encryptor = Cipher(algorithms.AES(KEY), modes.GCM(iv)).encryptor()
    if sc & 0x20:
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(payload) + encryptor.finalize()
    else:
        encryptor.authenticate_additional_data(aad + payload)
        body = payload + encryptor.update(b"") + encryptor.finalize()
    tag = bytearray(encryptor.tag[:12])
    if flip is not None:
        tag[flip // 8] ^= 1 << (flip % 8)
    tagged = bool(sc & 0x10)  # SC 0x20 sends no tag
    content = bytes((sc,)) + counter.to_bytes(4, "big") + body + (bytes(tag) if tagged else b"")
    apdu = b"\xdb\x08" + SYSTEM_TITLE + b"\x82" + len(content).to_bytes(2, "big") + content
    parsed, _ = parse_ciphered(apdu)

    textbook = Cipher(algorithms.AES(KEY), modes.GCM(iv, bytes(tag), min_tag_length=12))
    decryptor = textbook.decryptor()
    decryptor.authenticate_additional_data(aad if sc & 0x20 else aad + payload)
    plaintext = decryptor.update(body) if sc & 0x20 else payload
    try:
        decryptor.finalize()
        verifies = True
    except InvalidTag:
        verifies = False
    assert plaintext == payload

    ours = Decryptor(KEY, AUTH_KEY if gak else None)
    if not gak or not tagged:
        result = ours.decrypt(parsed)
        assert result.plaintext == payload
        assert not result.tag_failed
        expected = Security.ENCRYPTED if sc & 0x20 else Security.NONE
        assert result.security is expected
    elif verifies:
        result = ours.decrypt(parsed)
        assert (result.plaintext, result.security) == (payload, Security.AUTHENTICATED)
    elif sc & 0x20:
        result = ours.decrypt(parsed)
        assert result.plaintext == payload
        assert result.tag_failed
    else:
        with pytest.raises(DecodeError) as err:
            ours.decrypt(parsed)
        assert err.value.kind is ErrorKind.AUTH_FAILED
