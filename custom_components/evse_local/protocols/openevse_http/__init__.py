"""The OpenEVSE WiFi module's HTTP API (``/status``, ``/config``, ``/claims``, ``/r``)."""
