"""Wire protocols for EVSE Local.

Nothing below this package imports Home Assistant: it is a plain asyncio
library with an injected ``aiohttp`` session, typed models and its own tests.
"""
