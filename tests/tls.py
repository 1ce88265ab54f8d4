"""One TLS context for every test-side HTTP client (`verify=TLS`)."""

from __future__ import annotations

import ssl

import certifi

# Built once: each httpx client otherwise makes its own and reads the whole CA bundle (~20-50 ms
# of CPU per client, most of some tests' time), though every URL the tests call is plain http://.
TLS = ssl.create_default_context(cafile=certifi.where())
