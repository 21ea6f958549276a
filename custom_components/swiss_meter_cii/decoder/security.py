"""general-glo-ciphering (0xDB) / general-ded-ciphering (0xDC): AES-128-GCM pushes.

`DB | 08 | system title | BER len | SC | IC(4) | ciphertext | [tag(12)]`. The IV is
system title || IC. Without an authentication key the tag cannot be checked, but GCM is
CTR mode underneath (counter block IV || 00000002), so the GUEK alone recovers the
plaintext: Swiss DSOs hand out only the GUEK for E450s that do send a tag.

All of it runs on one `AESGCM` object per key, which does the AES key schedule once;
`Cipher(...)` would redo it on every push, and that was half of the cost of a push's
cryptography (docs/architecture.md, "Decoder speed"). `AESGCM` only checks 16-byte tags
and DLMS sends 12, so the two directions of GCM are used instead: encrypting the
ciphertext XORs it with the same keystream, which gives the plaintext (the tag that comes
with it is of no use), and encrypting that plaintext with the AAD gives the sender's
ciphertext and its full tag, whose first 12 bytes are compared in constant time.
"""

from __future__ import annotations

from dataclasses import dataclass
from hmac import compare_digest
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .axdr import TruncatedError, read_length
from .errors import DecodeError, ErrorKind
from .push import Security

GLO_CIPHERING = 0xDB
DED_CIPHERING = 0xDC
CIPHERED_TAGS = frozenset((GLO_CIPHERING, DED_CIPHERING))
TAG_LENGTH = 12
SYSTEM_TITLE_LENGTH = 8
SC_AUTHENTICATION = 0x10
SC_ENCRYPTION = 0x20
SC_BROADCAST = 0x40
SC_COMPRESSION = 0x80
_FULL_TAG = 16  # what AESGCM appends to its output
_U32 = struct.Struct(">I").unpack_from


@dataclass(slots=True)  # made once per push: a frozen __init__ costs 3x
class CipheredApdu:
    """The header fields and payload of a ciphered APDU (payload excludes the tag)."""

    tag: int
    system_title: bytes
    security_control: int
    invocation_counter: int
    payload: bytes
    auth_tag: bytes | None

    @property
    def encrypted(self) -> bool:
        """Whether the payload is ciphertext (SC bit 5)."""
        return bool(self.security_control & SC_ENCRYPTION)


def ciphered_size(buf: bytes | bytearray, pos: int) -> int:
    """Total size of the ciphered APDU at `pos` from its header.

    Raises `axdr.TruncatedError` if the header is cut off, DecodeError(MALFORMED) if bad.
    """
    n = len(buf)
    if pos + 2 > n:
        raise TruncatedError(pos + 2)
    title_length = buf[pos + 1]
    if title_length not in (0, SYSTEM_TITLE_LENGTH):
        raise DecodeError(ErrorKind.MALFORMED, f"system title of {title_length} bytes")
    length, start = read_length(buf, pos + 2 + title_length)
    return start - pos + length


def parse_ciphered(buf: bytes, pos: int = 0) -> tuple[CipheredApdu, int]:
    """Parse a DB/DC APDU at `pos` -> (fields, position after it).

    Raises DecodeError(MALFORMED) for a bad header and `axdr.TruncatedError` when the
    APDU is longer than the bytes given.
    """
    n = len(buf)
    if pos >= n or buf[pos] not in CIPHERED_TAGS:
        raise DecodeError(ErrorKind.MALFORMED, "not a ciphered APDU")
    tag = buf[pos]
    if pos + 2 > n:
        raise TruncatedError(pos + 2)
    title_length = buf[pos + 1]
    if title_length not in (0, SYSTEM_TITLE_LENGTH):
        raise DecodeError(ErrorKind.MALFORMED, f"system title of {title_length} bytes")
    start = pos + 2 + title_length
    if start > n:
        raise TruncatedError(start)
    system_title = buf[pos + 2 : start]
    length, start = read_length(buf, start)
    end = start + length
    if end > n:
        raise TruncatedError(end)
    if length < 5:
        raise DecodeError(ErrorKind.MALFORMED, f"ciphered APDU of {length} bytes")
    sc = buf[start]
    counter = _U32(buf, start + 1)[0]
    tag_bytes: bytes | None = None
    payload_end = end
    if sc & SC_AUTHENTICATION:
        if length < 5 + TAG_LENGTH:
            raise DecodeError(ErrorKind.MALFORMED, "ciphered APDU too short for its tag")
        payload_end = end - TAG_LENGTH
        tag_bytes = buf[payload_end:end]
    apdu = CipheredApdu(tag, system_title, sc, counter, buf[start + 5 : payload_end], tag_bytes)
    return apdu, end


@dataclass(slots=True)  # made once per push: a frozen __init__ costs 3x
class Decrypted:
    """Plaintext and how far it can be trusted.

    `tag_failed` = a tag was checked with the GAK and did not verify; the caller looks
    at the plaintext to tell a wrong GUEK (garbage) from a wrong GAK (valid APDU).
    """

    plaintext: bytes
    security: Security
    tag_failed: bool = False


class Decryptor:
    """Decrypts ciphered APDUs with the configured keys (the AES key object built once).

    Keys are kept private and never appear in repr, messages or logs.
    """

    __slots__ = ("_auth_key", "_gcm")

    def __init__(self, key: bytes | None, auth_key: bytes | None) -> None:
        """Store the GUEK (as a reusable AES-GCM key object) and the optional GAK."""
        for name, value in (("encryption key", key), ("authentication key", auth_key)):
            if value is not None and len(value) != 16:
                raise ValueError(f"{name} must be 16 bytes, got {len(value)}")
        self._gcm = AESGCM(bytes(key)) if key is not None else None
        self._auth_key = bytes(auth_key) if auth_key is not None else None

    def __repr__(self) -> str:
        """Say which keys are set, never their value."""
        key = "set" if self._gcm is not None else "unset"
        auth = "set" if self._auth_key is not None else "unset"
        return f"Decryptor(key={key}, auth_key={auth})"

    @property
    def has_key(self) -> bool:
        """Whether an encryption key (GUEK) is configured."""
        return self._gcm is not None

    def decrypt(self, apdu: CipheredApdu) -> Decrypted:
        """Decrypt (and verify when a GAK is set) -> plaintext and security level.

        Raises DecodeError: MISSING_KEY (encrypted, no GUEK), AUTH_FAILED
        (authentication-only APDU whose tag fails), MALFORMED (unsupported SC).
        """
        sc = apdu.security_control
        if sc & SC_COMPRESSION:
            raise DecodeError(ErrorKind.MALFORMED, "compressed ciphered APDUs are not supported")
        if sc & 0x0F > 1:
            raise DecodeError(
                ErrorKind.MALFORMED, f"security suite {sc & 0x0F} (AES-256) is not supported"
            )
        if not sc & (SC_ENCRYPTION | SC_AUTHENTICATION):
            return Decrypted(apdu.payload, Security.NONE)
        gcm = self._gcm
        if gcm is None:
            if sc & SC_ENCRYPTION:
                raise DecodeError(ErrorKind.MISSING_KEY, "encrypted push but no encryption key")
            return Decrypted(apdu.payload, Security.NONE)  # tag present, cannot check it
        if len(apdu.system_title) != SYSTEM_TITLE_LENGTH:
            raise DecodeError(ErrorKind.MALFORMED, "no system title: the IV is unknown")
        iv = apdu.system_title + apdu.invocation_counter.to_bytes(4, "big")
        tag = apdu.auth_tag
        if tag is not None and self._auth_key is not None:
            aad = bytes((sc,)) + self._auth_key
            if sc & SC_ENCRYPTION:
                plaintext = gcm.encrypt(iv, apdu.payload, None)[:-_FULL_TAG]
                expected = gcm.encrypt(iv, plaintext, aad)[-_FULL_TAG:]
                if not compare_digest(expected[:TAG_LENGTH], tag):
                    return Decrypted(plaintext, Security.ENCRYPTED, tag_failed=True)
                return Decrypted(plaintext, Security.AUTHENTICATED)
            # Authentication only: the payload is plaintext, authenticated as part of the AAD.
            expected = gcm.encrypt(iv, b"", aad + apdu.payload)
            if not compare_digest(expected[:TAG_LENGTH], tag):
                raise DecodeError(ErrorKind.AUTH_FAILED, "authentication tag does not verify")
            return Decrypted(apdu.payload, Security.AUTHENTICATED)
        if not sc & SC_ENCRYPTION:
            return Decrypted(apdu.payload, Security.NONE)  # authentication only, no GAK
        return Decrypted(gcm.encrypt(iv, apdu.payload, None)[:-_FULL_TAG], Security.ENCRYPTED)
