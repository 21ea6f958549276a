"""general-glo-ciphering (0xDB) / general-ded-ciphering (0xDC): AES-128-GCM pushes.

`DB | 08 | system title | BER len | SC | IC(4) | ciphertext | [tag(12)]`. The IV is
system title || IC. Without an authentication key the tag cannot be checked, but GCM is
CTR mode underneath (counter block IV || 00000002), so the GUEK alone recovers the
plaintext: Swiss DSOs hand out only the GUEK for E450s that do send a tag.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
_CTR_START = b"\x00\x00\x00\x02"  # first keystream block of GCM (J0 + 1)
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
    """Decrypts ciphered APDUs with the configured keys (AES key objects built once).

    Keys are kept private and never appear in repr, messages or logs.
    """

    __slots__ = ("_aes", "_auth_key")

    def __init__(self, key: bytes | None, auth_key: bytes | None) -> None:
        """Store the GUEK (as a reusable AES key object) and the optional GAK."""
        for name, value in (("encryption key", key), ("authentication key", auth_key)):
            if value is not None and len(value) != 16:
                raise ValueError(f"{name} must be 16 bytes, got {len(value)}")
        self._aes = algorithms.AES(bytes(key)) if key is not None else None
        self._auth_key = bytes(auth_key) if auth_key is not None else None

    def __repr__(self) -> str:
        """Say which keys are set, never their value."""
        key = "set" if self._aes is not None else "unset"
        auth = "set" if self._auth_key is not None else "unset"
        return f"Decryptor(key={key}, auth_key={auth})"

    @property
    def has_key(self) -> bool:
        """Whether an encryption key (GUEK) is configured."""
        return self._aes is not None

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
        aes = self._aes
        if aes is None:
            if sc & SC_ENCRYPTION:
                raise DecodeError(ErrorKind.MISSING_KEY, "encrypted push but no encryption key")
            return Decrypted(apdu.payload, Security.NONE)  # tag present, cannot check it
        if len(apdu.system_title) != SYSTEM_TITLE_LENGTH:
            raise DecodeError(ErrorKind.MALFORMED, "no system title: the IV is unknown")
        iv = apdu.system_title + apdu.invocation_counter.to_bytes(4, "big")
        if apdu.auth_tag is not None and self._auth_key is not None:
            return self._decrypt_verified(aes, iv, apdu)
        if not sc & SC_ENCRYPTION:
            return Decrypted(apdu.payload, Security.NONE)  # authentication only, no GAK
        decryptor = Cipher(aes, modes.CTR(iv + _CTR_START)).decryptor()
        return Decrypted(decryptor.update(apdu.payload), Security.ENCRYPTED)

    def _decrypt_verified(self, aes: algorithms.AES, iv: bytes, apdu: CipheredApdu) -> Decrypted:
        """GCM with the 12-byte tag; AAD = SC || GAK (|| plaintext when not encrypted)."""
        assert apdu.auth_tag is not None
        assert self._auth_key is not None
        sc = apdu.security_control
        mode = modes.GCM(iv, apdu.auth_tag, min_tag_length=TAG_LENGTH)
        decryptor = Cipher(aes, mode).decryptor()
        aad = bytes((sc,)) + self._auth_key
        if sc & SC_ENCRYPTION:
            decryptor.authenticate_additional_data(aad)
            plaintext = decryptor.update(apdu.payload)
        else:
            decryptor.authenticate_additional_data(aad + apdu.payload)
            plaintext = apdu.payload
        try:
            decryptor.finalize()
        except InvalidTag:
            if not sc & SC_ENCRYPTION:
                raise DecodeError(
                    ErrorKind.AUTH_FAILED, "authentication tag does not verify"
                ) from None
            return Decrypted(plaintext, Security.ENCRYPTED, tag_failed=True)
        return Decrypted(plaintext, Security.AUTHENTICATED)
