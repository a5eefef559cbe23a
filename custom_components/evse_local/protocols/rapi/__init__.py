"""OpenEVSE RAPI: framing, the command table and a client over HTTP ``/r``."""

from .client import RapiClient, RapiTransport
from .frame import RapiReply, decode_reply, encode_command, xor_checksum

__all__ = [
    "RapiClient",
    "RapiReply",
    "RapiTransport",
    "decode_reply",
    "encode_command",
    "xor_checksum",
]
