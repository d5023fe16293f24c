"""schemathesis checks of the fuzzer run (tests/test_fuzz.py), beyond its own: every answer is
the envelope and none is INTERNAL_ERROR."""

import schemathesis


@schemathesis.check
def no_internal_error(ctx, response, case):
    # schemathesis keeps the headers under lower-case names (reading "Content-Type" found none,
    # so this check passed everything until a planted INTERNAL_ERROR showed it)
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    body = response.json()
    if not isinstance(body, dict) or body.get("_success") not in (True, False):
        raise AssertionError(f"not the envelope: {response.text[:200]}")
    if body.get("_msg") == "INTERNAL_ERROR":
        raise AssertionError(f"INTERNAL_ERROR: {response.text[:200]}")
    return None
