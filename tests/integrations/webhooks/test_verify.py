"""Webhook verification, scheme by scheme: published vectors, independently signed deliveries,
and the ways a forged, tampered, replayed or misconfigured delivery must fail.

Expected signatures are computed here by hand with hmac/hashlib, never with the module under
test, so a wrong algorithm in verify.py fails these tests instead of agreeing with itself.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from integrations.specs import WEBHOOK_SCHEMES
from integrations.webhooks import verify as v
from integrations.webhooks.verify import Delivery, VerificationError

URL = "https://hub.example.com/webhooks/c/123"


def delivery(body: bytes = b"", headers=None, url: str = URL, query=None) -> Delivery:
    return Delivery(body=body, headers=headers or {}, url=url, query=query or {})


def hex_mac(key: str | bytes, message: bytes, digest=hashlib.sha256) -> str:
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, message, digest).hexdigest()


def b64_mac(key: str | bytes, message: bytes, digest=hashlib.sha256) -> str:
    key = key.encode() if isinstance(key, str) else key
    return base64.b64encode(hmac.new(key, message, digest).digest()).decode()


def fails(reason: str, scheme: str, d: Delivery, secret: str, **kwargs) -> None:
    with pytest.raises(VerificationError) as caught:
        v.verify(scheme, d, secret, **kwargs)
    assert caught.value.reason == reason


def swap_case(headers: dict[str, str]) -> dict[str, str]:
    return {name.swapcase(): value for name, value in headers.items()}


# -- Delivery and dispatch --------------------------------------------------------------------


def test_delivery_headers_are_case_insensitive_and_read_only():
    d = delivery(headers={"X-Slack-Signature": "v0=abc", "Content-Type": "text/plain"})
    assert d.header("x-slack-signature") == d.header("X-SLACK-SIGNATURE") == "v0=abc"
    assert d.headers["content-type"] == "text/plain"
    assert d.header("missing") is None
    with pytest.raises(TypeError):
        d.headers["x-new"] = "1"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.body = b"other"  # type: ignore[misc]


def test_delivery_indexes_query_mappings_one_value_each():
    class MultiValue(dict):
        """Like Django's QueryDict: stores lists, indexing gives the last value."""

        def __getitem__(self, key):
            return super().__getitem__(key)[-1]

    d = delivery(query=MultiValue({"validationToken": ["a", "b"]}))
    assert d.query == {"validationToken": "b"}


def test_every_declared_scheme_has_a_verifier():
    for scheme in WEBHOOK_SCHEMES:
        with pytest.raises(VerificationError):  # an empty delivery passes no scheme
            v.verify(scheme, delivery(), "s3cret", now=0)


def test_unknown_scheme_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown webhook scheme"):
        v.verify("hmac_of_the_week", delivery(), "s3cret")


@pytest.mark.parametrize("secret", ["", "   "])
@pytest.mark.parametrize("scheme", sorted(set(WEBHOOK_SCHEMES) - {"none", "paypal"}))
def test_an_empty_secret_never_verifies(scheme, secret):
    # The empty "token" a misconfigured sender echoes must not match an empty stored secret.
    d = delivery(
        body=b'{"value":[{"clientState":""}]}',
        headers={"X-Goog-Channel-ID": "c", "X-Goog-Channel-Token": "", "X-WedSync-Secret": ""},
    )
    fails("no secret configured", scheme, d, secret)


def test_none_scheme_never_trusts():
    fails("unsigned deliveries are never trusted", "none", delivery(b"{}"), "anything")


# -- Stripe -----------------------------------------------------------------------------------

# VENDORS.md section E, "Stripe" (algorithm from stripe-python stripe/_webhook.py).
STRIPE_SECRET = "whsec_test_secret"
STRIPE_BODY = b'{"id":"evt_test_1","object":"event","type":"payment_intent.succeeded"}'
STRIPE_HEADER = "t=1700000000,v1=871acfe933554b446cc41d791076dd56a10c0553cc61aafbeb881d0082b45043"


def stripe_header(body: bytes, secret: str, t: int) -> str:
    return f"t={t},v1={hex_mac(secret, f'{t}.'.encode() + body)}"


def test_stripe_vector():
    d = delivery(STRIPE_BODY, {"Stripe-Signature": STRIPE_HEADER})
    v.verify("stripe", d, STRIPE_SECRET, now=1_700_000_000)


def test_stripe_independent_signature_among_several_v1():
    t = 1_800_000_000
    good = stripe_header(STRIPE_BODY, STRIPE_SECRET, t).split(",")[1]
    header = f"t={t},v1={'0' * 64},{good},v0=legacy"
    v.verify("stripe", delivery(STRIPE_BODY, {"stripe-signature": header}), STRIPE_SECRET, now=t)


def test_stripe_uses_the_wall_clock_by_default():
    t = int(time.time())
    d = delivery(STRIPE_BODY, {"Stripe-Signature": stripe_header(STRIPE_BODY, STRIPE_SECRET, t)})
    v.verify("stripe", d, STRIPE_SECRET)
    fails(
        "stale timestamp",
        "stripe",
        delivery(STRIPE_BODY, {"Stripe-Signature": STRIPE_HEADER}),
        STRIPE_SECRET,
    )


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now", "reason"),
    [
        (
            STRIPE_BODY + b" ",
            {"Stripe-Signature": STRIPE_HEADER},
            STRIPE_SECRET,
            1_700_000_000,
            "bad signature",
        ),
        (
            STRIPE_BODY,
            {"Stripe-Signature": STRIPE_HEADER},
            "whsec_other",
            1_700_000_000,
            "bad signature",
        ),
        (STRIPE_BODY, {}, STRIPE_SECRET, 1_700_000_000, "missing signature header"),
        (
            STRIPE_BODY,
            {"Stripe-Signature": STRIPE_HEADER},
            STRIPE_SECRET,
            1_700_000_301,
            "stale timestamp",
        ),
        (
            STRIPE_BODY,
            {"Stripe-Signature": STRIPE_HEADER},
            STRIPE_SECRET,
            1_699_999_699,
            "timestamp in the future",
        ),
        (
            STRIPE_BODY,
            {"Stripe-Signature": "v1=abc"},
            STRIPE_SECRET,
            1_700_000_000,
            "malformed signature header",
        ),
        (
            STRIPE_BODY,
            {"Stripe-Signature": "t=1,t=2,v1=abc"},
            STRIPE_SECRET,
            1_700_000_000,
            "malformed signature header",
        ),
        (
            b"\xff\xfe",
            {"Stripe-Signature": STRIPE_HEADER},
            STRIPE_SECRET,
            1_700_000_000,
            "body is not UTF-8",
        ),
    ],
    ids=["tampered", "wrong-secret", "missing", "stale", "future", "no-t", "two-t", "not-utf8"],
)
def test_stripe_rejects(body, headers, secret, now, reason):
    fails(reason, "stripe", delivery(body, headers), secret, now=now)


def test_stripe_tolerance_edge_and_header_case():
    d = delivery(STRIPE_BODY, swap_case({"Stripe-Signature": STRIPE_HEADER}))
    v.verify("stripe", d, STRIPE_SECRET, now=1_700_000_300)
    fails("stale timestamp", "stripe", d, STRIPE_SECRET, now=1_700_000_061, tolerance_s=60)


def test_reasons_never_carry_the_secret_or_expected_signature():
    tampered = delivery(STRIPE_BODY + b"x", {"Stripe-Signature": STRIPE_HEADER})
    expected = hex_mac(STRIPE_SECRET, b"1700000000." + STRIPE_BODY + b"x")
    with pytest.raises(VerificationError) as caught:
        v.verify("stripe", tampered, STRIPE_SECRET, now=1_700_000_000)
    for text in (str(caught.value), repr(caught.value), caught.value.reason):
        assert STRIPE_SECRET not in text
        assert expected not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# -- Standard Webhooks ------------------------------------------------------------------------

# Not in VENDORS.md: the published vector of the Standard Webhooks reference library,
# standard-webhooks/standard-webhooks libraries/python/tests/test_webhooks.py (test_sign_function).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(signature: str = SW_SIGNATURE, ts: int = SW_TS, msg_id: str = SW_ID) -> dict:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def sw_sign(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return "v1," + b64_mac(key, f"{msg_id}.{ts}.".encode() + body)


def test_standard_webhooks_vector():
    v.verify("standard_webhooks", delivery(SW_BODY, sw_headers()), SW_SECRET, now=SW_TS)


def test_standard_webhooks_independent_signature_among_others_and_unprefixed_secret():
    ts, body = 1_800_000_000, b'{"type":"invoice.paid","data":{}}'
    good = sw_sign(SW_SECRET, "msg_2", ts, body)
    offered = f"v1,bm9wZQ== v2,{good[3:]} v1,!!! garbage {good}"
    d = delivery(body, swap_case(sw_headers(offered, ts, "msg_2")))
    v.verify("standard_webhooks", d, SW_SECRET, now=ts)
    v.verify("standard_webhooks", d, SW_SECRET.removeprefix("whsec_"), now=ts)


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now", "reason"),
    [
        (SW_BODY + b" ", sw_headers(), SW_SECRET, SW_TS, "bad signature"),
        (
            SW_BODY,
            sw_headers(),
            "whsec_" + base64.b64encode(b"other key").decode(),
            SW_TS,
            "bad signature",
        ),
        (SW_BODY, sw_headers(msg_id="msg_other"), SW_SECRET, SW_TS, "bad signature"),
        (SW_BODY, sw_headers("v2," + SW_SIGNATURE[3:]), SW_SECRET, SW_TS, "bad signature"),
        (SW_BODY, {**sw_headers(), "webhook-id": ""}, SW_SECRET, SW_TS, "missing signature header"),
        (
            SW_BODY,
            {"webhook-id": SW_ID, "webhook-signature": SW_SIGNATURE},
            SW_SECRET,
            SW_TS,
            "missing signature header",
        ),
        (
            SW_BODY,
            {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS)},
            SW_SECRET,
            SW_TS,
            "missing signature header",
        ),
        (SW_BODY, sw_headers(), SW_SECRET, SW_TS + 301, "stale timestamp"),
        (SW_BODY, sw_headers(), SW_SECRET, SW_TS - 301, "timestamp in the future"),
        (SW_BODY, sw_headers(ts="1614265330.0"), SW_SECRET, SW_TS, "malformed timestamp"),
        (SW_BODY, sw_headers(), "whsec_a", SW_TS, "unusable secret"),
        (SW_BODY, sw_headers(), "whsec_", SW_TS, "unusable secret"),
    ],
    ids=[
        "tampered",
        "wrong-secret",
        "other-id",
        "v2-only",
        "empty-id",
        "no-timestamp",
        "no-signature",
        "stale",
        "future",
        "fractional-ts",
        "bad-base64",
        "empty-key",
    ],
)
def test_standard_webhooks_rejects(body, headers, secret, now, reason):
    fails(reason, "standard_webhooks", delivery(body, headers), secret, now=now)


# -- Slack ------------------------------------------------------------------------------------

# VENDORS.md section E, "Slack" (Slack's documented example; slack_sdk/signature).
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = 1531420618
SLACK_BODY = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweekplan"
SLACK_SIGNATURE = "v0=18aa9902dde1909928f1a67287f2e8333f54654ff14252404fd28a322641995e"


def slack_headers(body: bytes, secret: str, ts: int) -> dict[str, str]:
    signature = "v0=" + hex_mac(secret, f"v0:{ts}:".encode() + body)
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(ts)}


def test_slack_vector():
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": str(SLACK_TS)}
    v.verify("slack", delivery(SLACK_BODY, headers), SLACK_SECRET, now=SLACK_TS)


def test_slack_independent_signature_any_header_case():
    body = b'{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}'
    headers = swap_case(slack_headers(body, "signing", 1_800_000_000))
    v.verify("slack", delivery(body, headers), "signing", now=1_800_000_000 + 299)


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now", "reason"),
    [
        (
            SLACK_BODY + b"&x=1",
            slack_headers(SLACK_BODY, SLACK_SECRET, SLACK_TS),
            SLACK_SECRET,
            SLACK_TS,
            "bad signature",
        ),
        (
            SLACK_BODY,
            slack_headers(SLACK_BODY, SLACK_SECRET, SLACK_TS),
            "other",
            SLACK_TS,
            "bad signature",
        ),
        (
            SLACK_BODY,
            {"X-Slack-Request-Timestamp": str(SLACK_TS)},
            SLACK_SECRET,
            SLACK_TS,
            "missing signature header",
        ),
        (
            SLACK_BODY,
            {"X-Slack-Signature": SLACK_SIGNATURE},
            SLACK_SECRET,
            SLACK_TS,
            "missing signature header",
        ),
        (
            SLACK_BODY,
            slack_headers(SLACK_BODY, SLACK_SECRET, SLACK_TS),
            SLACK_SECRET,
            SLACK_TS + 301,
            "stale timestamp",
        ),
        (
            SLACK_BODY,
            {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": "-1"},
            SLACK_SECRET,
            SLACK_TS,
            "malformed timestamp",
        ),
    ],
    ids=["tampered", "wrong-secret", "no-signature", "no-timestamp", "stale", "bad-timestamp"],
)
def test_slack_rejects(body, headers, secret, now, reason):
    fails(reason, "slack", delivery(body, headers), secret, now=now)


def test_slack_url_verification_is_answered_only_when_signed():
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aB", "type": "url_verification"})
    signed = delivery(body.encode(), slack_headers(body.encode(), "signing", 1_800_000_000))
    answer = v.handshake_response("slack", signed, "signing", now=1_800_000_000)
    assert answer == (200, "3eZbrw1aB", "text/plain")
    with pytest.raises(VerificationError):
        v.handshake_response("slack", signed, "wrong", now=1_800_000_000)
    with pytest.raises(VerificationError):
        v.handshake_response("slack", delivery(body.encode()), "signing", now=1_800_000_000)
    assert v.handshake_response("slack", delivery(SLACK_BODY), "signing") is None


# -- Twilio -----------------------------------------------------------------------------------

# VENDORS.md section E, "Twilio": the inputs and result of Twilio's own documentation example.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def twilio_sign(token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    message = url + "".join(k + val for k, val in sorted(pairs))
    return b64_mac(token, message.encode(), hashlib.sha1)


def test_twilio_vector_from_a_form_encoded_body():
    body = urlencode(TWILIO_PARAMS).encode()  # '+' travels as %2B and must be decoded
    d = delivery(body, {"X-Twilio-Signature": TWILIO_SIGNATURE}, url=TWILIO_URL)
    v.verify("twilio", d, TWILIO_TOKEN)


def test_twilio_independent_signature_with_repeated_params_and_header_case():
    pairs = [
        ("MessageSid", "SM1"),
        ("MediaUrl", "https://b"),
        ("MediaUrl", "https://a"),
        ("Body", "Hi & bye"),
    ]
    signature = twilio_sign("tok", URL, pairs)
    d = delivery(urlencode(pairs).encode(), {"x-TWILIO-signature": signature})
    v.verify("twilio", d, "tok")


def test_twilio_accepts_the_url_with_or_without_the_default_port():
    pairs = [("MessageSid", "SM1")]
    with_port = "https://hub.example.com:443/webhooks/c/123"
    signed_without = twilio_sign("tok", URL, pairs)
    signed_with = twilio_sign("tok", with_port, pairs)
    body = urlencode(pairs).encode()
    v.verify("twilio", delivery(body, {"X-Twilio-Signature": signed_without}, url=with_port), "tok")
    v.verify("twilio", delivery(body, {"X-Twilio-Signature": signed_with}, url=URL), "tok")
    other_port = "https://hub.example.com:8443/webhooks/c/123"
    fails(
        "bad signature",
        "twilio",
        delivery(body, {"X-Twilio-Signature": signed_without}, url=other_port),
        "tok",
    )


@pytest.mark.parametrize(
    ("params", "url", "token", "headers", "reason"),
    [
        (
            {**TWILIO_PARAMS, "Digits": "9999"},
            TWILIO_URL,
            TWILIO_TOKEN,
            {"X-Twilio-Signature": TWILIO_SIGNATURE},
            "bad signature",
        ),
        (
            TWILIO_PARAMS,
            TWILIO_URL.replace("foo=1", "foo=2"),
            TWILIO_TOKEN,
            {"X-Twilio-Signature": TWILIO_SIGNATURE},
            "bad signature",
        ),
        (
            TWILIO_PARAMS,
            TWILIO_URL,
            "54321",
            {"X-Twilio-Signature": TWILIO_SIGNATURE},
            "bad signature",
        ),
        (TWILIO_PARAMS, TWILIO_URL, TWILIO_TOKEN, {}, "missing signature header"),
    ],
    ids=["tampered-param", "other-url", "wrong-token", "missing"],
)
def test_twilio_rejects(params, url, token, headers, reason):
    fails(reason, "twilio", delivery(urlencode(params).encode(), headers, url=url), token)


def test_twilio_json_body_is_bound_by_body_sha256():
    body = b'{"MessageSid":"SM1"}'
    url = f"{URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = twilio_sign("tok", url, [])
    v.verify("twilio", delivery(body, {"X-Twilio-Signature": signature}, url=url), "tok")
    fails(
        "body hash mismatch",
        "twilio",
        delivery(b'{"MessageSid":"SM2"}', {"X-Twilio-Signature": signature}, url=url),
        "tok",
    )
    forged_url = f"{URL}?bodySHA256={hashlib.sha256(b'{}').hexdigest()}"
    fails(
        "bad signature",
        "twilio",
        delivery(b"{}", {"X-Twilio-Signature": signature}, url=forged_url),
        "tok",
    )


# -- Square -----------------------------------------------------------------------------------

# VENDORS.md section E, "Square" (square-python-sdk webhooks_helper).
SQUARE_KEY = "sq_sig_key"
SQUARE_URL = "https://example.com/webhooks/square"
SQUARE_BODY = (
    b'{"merchant_id":"M1","type":"payment.updated","event_id":"e1",'
    b'"created_at":"2024-01-01T00:00:00Z","data":{"type":"payment","id":"p1",'
    b'"object":{"payment":{"id":"p1","status":"COMPLETED"}}}}'
)
SQUARE_SIGNATURE = "jw52LUFXOuqE6Yctexa7kcSOvIiAjqdtF8KYBV97G8Q="
SQUARE_HEADER = "x-square-hmacsha256-signature"


def test_square_vector_and_header_case():
    v.verify(
        "square", delivery(SQUARE_BODY, {SQUARE_HEADER: SQUARE_SIGNATURE}, SQUARE_URL), SQUARE_KEY
    )
    upper = {SQUARE_HEADER.upper(): SQUARE_SIGNATURE}
    v.verify("square", delivery(SQUARE_BODY, upper, SQUARE_URL), SQUARE_KEY)


def test_square_independent_signature():
    body = b'{"type":"payment.created","event_id":"e2"}'
    signature = b64_mac("k2", URL.encode() + body)
    v.verify("square", delivery(body, {SQUARE_HEADER: signature}), "k2")


@pytest.mark.parametrize(
    ("body", "url", "key", "headers", "reason"),
    [
        (
            SQUARE_BODY.replace(b"COMPLETED", b"FAILED"),
            SQUARE_URL,
            SQUARE_KEY,
            {SQUARE_HEADER: SQUARE_SIGNATURE},
            "bad signature",
        ),
        (
            SQUARE_BODY,
            SQUARE_URL + "/",
            SQUARE_KEY,
            {SQUARE_HEADER: SQUARE_SIGNATURE},
            "bad signature",
        ),
        (SQUARE_BODY, SQUARE_URL, "other", {SQUARE_HEADER: SQUARE_SIGNATURE}, "bad signature"),
        (SQUARE_BODY, SQUARE_URL, SQUARE_KEY, {}, "missing signature header"),
        # the deprecated SHA-1 header alone is not accepted
        (
            SQUARE_BODY,
            SQUARE_URL,
            SQUARE_KEY,
            {
                "x-square-signature": b64_mac(
                    SQUARE_KEY, SQUARE_URL.encode() + SQUARE_BODY, hashlib.sha1
                )
            },
            "missing signature header",
        ),
    ],
    ids=["tampered", "other-url", "wrong-key", "missing", "legacy-sha1-only"],
)
def test_square_rejects(body, url, key, headers, reason):
    fails(reason, "square", delivery(body, headers, url), key)


# -- WhatsApp ---------------------------------------------------------------------------------

# VENDORS.md section E, "WhatsApp" (WhatsApp-Nodejs-SDK webhooks).
WA_SECRET = "meta_app_secret"
WA_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
WA_SIGNATURE = "sha256=e6ad1226d7dbb376b93779e72f6ea6cc56d514dbcb4b3fa023b679f8f0220325"


def test_whatsapp_vector_and_header_case():
    v.verify("whatsapp", delivery(WA_BODY, {"X-Hub-Signature-256": WA_SIGNATURE}), WA_SECRET)
    v.verify("whatsapp", delivery(WA_BODY, {"x-hub-signature-256": WA_SIGNATURE}), WA_SECRET)


def test_whatsapp_independent_signature():
    body = b'{"object":"whatsapp_business_account","entry":[{"id":"1"}]}'
    header = {"X-Hub-Signature-256": "sha256=" + hex_mac("app", body)}
    v.verify("whatsapp", delivery(body, header), "app")


@pytest.mark.parametrize(
    ("body", "headers", "secret", "reason"),
    [
        (WA_BODY + b"\n", {"X-Hub-Signature-256": WA_SIGNATURE}, WA_SECRET, "bad signature"),
        (WA_BODY, {"X-Hub-Signature-256": WA_SIGNATURE}, "other", "bad signature"),
        (WA_BODY, {}, WA_SECRET, "missing signature header"),
        (
            WA_BODY,
            {"X-Hub-Signature": "sha1=" + hex_mac(WA_SECRET, WA_BODY, hashlib.sha1)},
            WA_SECRET,
            "missing signature header",
        ),
        (
            WA_BODY,
            {"X-Hub-Signature-256": WA_SIGNATURE.removeprefix("sha256=")},
            WA_SECRET,
            "malformed signature header",
        ),
    ],
    ids=["tampered", "wrong-secret", "missing", "legacy-sha1-only", "no-prefix"],
)
def test_whatsapp_rejects(body, headers, secret, reason):
    fails(reason, "whatsapp", delivery(body, headers), secret)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"},
            (200, "1158201444", "text/plain"),
        ),
        (
            {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
            (403, "forbidden", "text/plain"),
        ),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": "vt", "hub.challenge": "1"},
            (403, "forbidden", "text/plain"),
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "vt"}, (403, "forbidden", "text/plain")),
        ({}, None),
    ],
    ids=["good", "wrong-token", "wrong-mode", "no-challenge", "not-a-handshake"],
)
def test_whatsapp_handshake(query, expected):
    assert v.handshake_response("whatsapp", delivery(query=query), "vt") == expected


# -- Acuity -----------------------------------------------------------------------------------

# VENDORS.md section E, "Acuity" (acuity-js verifyMessageSignature).
ACUITY_KEY = "acuity_api_key"
ACUITY_BODY = b"action=scheduled&id=123456789&calendarID=1234567&appointmentTypeID=7654321"
ACUITY_SIGNATURE = "WJ/mlC/jjK6MFZskCaGVTuzsVYu44LP/yBqgud9fEgM="


def test_acuity_vector_and_header_case():
    v.verify("acuity", delivery(ACUITY_BODY, {"X-Acuity-Signature": ACUITY_SIGNATURE}), ACUITY_KEY)
    v.verify("acuity", delivery(ACUITY_BODY, {"x-acuity-signature": ACUITY_SIGNATURE}), ACUITY_KEY)


def test_acuity_independent_signature():
    body = b"action=canceled&id=42&calendarID=1&appointmentTypeID=2"
    v.verify("acuity", delivery(body, {"X-Acuity-Signature": b64_mac("key", body)}), "key")


@pytest.mark.parametrize(
    ("body", "headers", "key", "reason"),
    [
        (
            ACUITY_BODY.replace(b"scheduled", b"canceled"),
            {"X-Acuity-Signature": ACUITY_SIGNATURE},
            ACUITY_KEY,
            "bad signature",
        ),
        (ACUITY_BODY, {"X-Acuity-Signature": ACUITY_SIGNATURE}, "other", "bad signature"),
        (ACUITY_BODY, {}, ACUITY_KEY, "missing signature header"),
    ],
    ids=["tampered", "wrong-key", "missing"],
)
def test_acuity_rejects(body, headers, key, reason):
    fails(reason, "acuity", delivery(body, headers), key)


# -- Calendly ---------------------------------------------------------------------------------

# VENDORS.md section E, "Calendly" (developer.calendly.com webhook-signatures).
CAL_KEY = "calendly_signing_key"
CAL_BODY = b'{"event":"invitee.created","payload":{}}'
CAL_HEADER = "t=1700000000,v1=ef6f72a4f81216a7fe001c0a5f7132e11870d5e95f1b70c53727e34b5cab647f"


def test_calendly_vector_and_header_case():
    v.verify(
        "calendly",
        delivery(CAL_BODY, {"Calendly-Webhook-Signature": CAL_HEADER}),
        CAL_KEY,
        now=1_700_000_000,
    )
    v.verify(
        "calendly",
        delivery(CAL_BODY, {"CALENDLY-WEBHOOK-SIGNATURE": CAL_HEADER}),
        CAL_KEY,
        now=1_700_000_000,
    )


def test_calendly_independent_signature():
    body, t = b'{"event":"invitee.canceled","payload":{"uri":"u"}}', 1_800_000_000
    header = f"t={t},v1={hex_mac('key', f'{t}.'.encode() + body)}"
    v.verify("calendly", delivery(body, {"Calendly-Webhook-Signature": header}), "key", now=t)


@pytest.mark.parametrize(
    ("body", "header", "key", "now", "reason"),
    [
        (CAL_BODY + b" ", CAL_HEADER, CAL_KEY, 1_700_000_000, "bad signature"),
        (CAL_BODY, CAL_HEADER, "other", 1_700_000_000, "bad signature"),
        (
            CAL_BODY,
            CAL_HEADER.replace("t=1700000000", "t=1700000100"),
            CAL_KEY,
            1_700_000_100,
            "bad signature",
        ),
        (CAL_BODY, None, CAL_KEY, 1_700_000_000, "missing signature header"),
        (CAL_BODY, CAL_HEADER, CAL_KEY, 1_700_000_301, "stale timestamp"),
        (CAL_BODY, "v1=abc", CAL_KEY, 1_700_000_000, "malformed signature header"),
    ],
    ids=["tampered", "wrong-key", "moved-timestamp", "missing", "stale", "malformed"],
)
def test_calendly_rejects(body, header, key, now, reason):
    headers = {"Calendly-Webhook-Signature": header} if header else {}
    fails(reason, "calendly", delivery(body, headers), key, now=now)


# -- PayPal -----------------------------------------------------------------------------------

PAYPAL_BODY = b'{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{}}'
PAYPAL_HEADERS = {
    "PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
    "PAYPAL-TRANSMISSION-TIME": "2023-11-14T22:13:20Z",  # 1_700_000_000
    "PAYPAL-TRANSMISSION-SIG": "bm90IGEgcmVhbCBzaWduYXR1cmU=",
    "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1",
    "PAYPAL-AUTH-ALGO": "SHA256withRSA",
}


def test_paypal_checks_headers_and_freshness_only_and_says_so():
    d = delivery(PAYPAL_BODY, swap_case(PAYPAL_HEADERS))
    v.verify("paypal", d, "", now=1_700_000_000)
    # No local proof exists: a forged body with the same headers passes here too, which is why
    # the caller must confirm with PayPal.
    v.verify("paypal", delivery(b'{"forged":true}', PAYPAL_HEADERS), "", now=1_700_000_000)
    assert "paypal" in v.NEEDS_PROVIDER_CONFIRMATION


@pytest.mark.parametrize("missing", sorted(PAYPAL_HEADERS))
def test_paypal_requires_every_transmission_header(missing):
    headers = {k: val for k, val in PAYPAL_HEADERS.items() if k != missing}
    fails(
        "missing transmission headers",
        "paypal",
        delivery(PAYPAL_BODY, headers),
        "",
        now=1_700_000_000,
    )


def test_paypal_rejects_stale_and_malformed_transmission_times():
    d = delivery(PAYPAL_BODY, PAYPAL_HEADERS)
    fails("stale timestamp", "paypal", d, "", now=1_700_000_301)
    odd = delivery(PAYPAL_BODY, {**PAYPAL_HEADERS, "PAYPAL-TRANSMISSION-TIME": "yesterday"})
    fails("malformed timestamp", "paypal", odd, "", now=1_700_000_000)
    offset = delivery(
        PAYPAL_BODY, {**PAYPAL_HEADERS, "PAYPAL-TRANSMISSION-TIME": "2023-11-15T00:13:20+02:00"}
    )
    v.verify("paypal", offset, "", now=1_700_000_000)


def test_paypal_verification_request_matches_the_documented_body():
    body = v.paypal_verification_request(delivery(PAYPAL_BODY, PAYPAL_HEADERS), "WEBHOOK-CFG-1")
    assert body == {
        "auth_algo": "SHA256withRSA",
        "cert_url": "https://api.paypal.com/v1/notifications/certs/CERT-1",
        "transmission_id": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "transmission_sig": "bm90IGEgcmVhbCBzaWduYXR1cmU=",
        "transmission_time": "2023-11-14T22:13:20Z",
        "webhook_id": "WEBHOOK-CFG-1",
        "webhook_event": json.loads(PAYPAL_BODY),
    }
    with pytest.raises(VerificationError):
        v.paypal_verification_request(delivery(b"not json", PAYPAL_HEADERS), "WEBHOOK-CFG-1")
    with pytest.raises(VerificationError):
        v.paypal_verification_request(delivery(PAYPAL_BODY, {}), "WEBHOOK-CFG-1")


# -- Google Calendar push channels ------------------------------------------------------------

GOOGLE_HEADERS = {
    "X-Goog-Channel-ID": "chan-1",
    "X-Goog-Channel-Token": "tok-123",
    "X-Goog-Resource-State": "exists",
    "X-Goog-Message-Number": "7",
}


def test_google_channel_token_and_header_case():
    v.verify("google_channel", delivery(headers=GOOGLE_HEADERS), "tok-123")
    v.verify("google_channel", delivery(headers=swap_case(GOOGLE_HEADERS)), "tok-123")


@pytest.mark.parametrize(
    ("drop", "token", "reason"),
    [
        (None, "tok-124", "bad channel token"),
        ("X-Goog-Channel-Token", "tok-123", "missing channel token"),
        ("X-Goog-Channel-ID", "tok-123", "missing channel id"),
    ],
    ids=["wrong-token", "no-token", "no-channel-id"],
)
def test_google_channel_rejects(drop, token, reason):
    headers = {k: val for k, val in GOOGLE_HEADERS.items() if k != drop}
    fails(reason, "google_channel", delivery(headers=headers), token)


# -- Microsoft Graph --------------------------------------------------------------------------


def graph_body(*states) -> bytes:
    return json.dumps(
        {
            "value": [
                {
                    "subscriptionId": "sub-1",
                    "changeType": "updated",
                    "resource": f"Users/u/Events/{i}",
                    **({"clientState": s} if s is not None else {}),
                }
                for i, s in enumerate(states)
            ]
        }
    ).encode()


def test_a_graph_batch_mixing_data_changes_reads_as_updated_and_is_not_dropped():
    def batch(*types):
        body = {"value": [{"clientState": "cs", "changeType": t} for t in types]}
        return delivery(json.dumps(body).encode())

    assert v.event_type("graph_client_state", batch("created", "created")) == "created"
    assert v.event_type("graph_client_state", batch("created", "updated", "deleted")) == "updated"
    mixed_with_lifecycle = {
        "value": [{"changeType": "updated"}, {"lifecycleEvent": "reauthorizationRequired"}]
    }
    assert (
        v.event_type("graph_client_state", delivery(json.dumps(mixed_with_lifecycle).encode()))
        is None
    )


def test_graph_client_state_must_match_in_every_notification():
    v.verify("graph_client_state", delivery(graph_body("cs-1", "cs-1")), "cs-1")
    fails("bad clientState", "graph_client_state", delivery(graph_body("cs-1", "cs-2")), "cs-1")
    fails("bad clientState", "graph_client_state", delivery(graph_body("cs-1", None)), "cs-1")
    fails("bad clientState", "graph_client_state", delivery(graph_body("cs-2")), "cs-1")


@pytest.mark.parametrize("body", [b"", b"not json", b'{"value":[]}', b'{"value":["x"]}', b"[]"])
def test_graph_rejects_malformed_bodies(body):
    fails("malformed notification body", "graph_client_state", delivery(body), "cs-1")


def test_graph_validation_handshake_echoes_the_token():
    d = delivery(query={"validationToken": "Validation: Token <x>"})
    assert v.handshake_response("graph_client_state", d, "cs-1") == (
        200,
        "Validation: Token <x>",
        "text/plain",
    )
    assert v.handshake_response("graph_client_state", delivery(graph_body("cs-1")), "cs-1") is None
    assert v.handshake_response("stripe", d, "cs-1") is None


# -- shared secret ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-WedSync-Secret": "zap-Sécret"},
        {"x-wedsync-secret": "zap-Sécret"},
        {"Authorization": "Bearer zap-Sécret"},
        {"authorization": "bearer zap-Sécret"},
        {"X-WedSync-Secret": "wrong", "Authorization": "Bearer zap-Sécret"},
    ],
    ids=["header", "header-lowercase", "bearer", "bearer-lowercase", "either"],
)
def test_shared_secret_accepts(headers):
    v.verify("shared_secret", delivery(b"{}", headers), "zap-Sécret")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-WedSync-Secret": "zap-Secret"}, "bad secret"),
        ({"Authorization": "Bearer zap-Sécre"}, "bad secret"),
        ({"Authorization": "Basic emFwLVPDqWNyZXQ="}, "missing secret header"),
        ({"Authorization": "Bearer "}, "missing secret header"),
        ({}, "missing secret header"),
    ],
    ids=["wrong", "prefix-of-secret", "basic-auth", "empty-bearer", "missing"],
)
def test_shared_secret_rejects(headers, reason):
    fails(reason, "shared_secret", delivery(b"{}", headers), "zap-Sécret")


# -- event ids and types ----------------------------------------------------------------------

WA_MESSAGE = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "WABA",
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "messages": [{"id": "wamid.A", "type": "text"}],
                    },
                }
            ],
        }
    ],
}
WA_STATUS = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "WABA",
            "changes": [
                {"field": "messages", "value": {"statuses": [{"id": "wamid.B", "status": "read"}]}}
            ],
        }
    ],
}
WA_BATCH = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "WABA",
            "changes": [
                {"field": "messages", "value": {"messages": [{"id": "wamid.A"}, {"id": "wamid.C"}]}}
            ],
        }
    ],
}


def j(data) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("scheme", "d", "expected_id", "expected_type"),
    [
        ("stripe", delivery(STRIPE_BODY), "evt_test_1", "payment_intent.succeeded"),
        (
            "standard_webhooks",
            delivery(b'{"type":"invoice.paid"}', {"Webhook-Id": "msg_1"}),
            "msg_1",
            "invoice.paid",
        ),
        (
            "slack",
            delivery(
                j({"type": "event_callback", "event_id": "Ev9", "event": {"type": "message"}})
            ),
            "Ev9",
            "message",
        ),
        (
            "slack",
            delivery(j({"type": "url_verification", "challenge": "c"})),
            None,
            "url_verification",
        ),
        ("slack", delivery(SLACK_BODY), None, None),
        (
            "twilio",
            delivery(b"MessageSid=SM1&MessageStatus=delivered"),
            "SM1:delivered",
            "delivered",
        ),
        ("twilio", delivery(b"SmsSid=SM2&SmsStatus=received&Body=hi"), "SM2", "received"),
        ("square", delivery(SQUARE_BODY), "e1", "payment.updated"),
        ("whatsapp", delivery(j(WA_MESSAGE)), "wamid.A", "messages"),
        ("whatsapp", delivery(j(WA_STATUS)), "wamid.B:read", "messages"),
        ("whatsapp", delivery(j(WA_BATCH)), None, "messages"),
        ("acuity", delivery(ACUITY_BODY), None, "scheduled"),
        ("calendly", delivery(CAL_BODY), None, "invitee.created"),
        ("paypal", delivery(PAYPAL_BODY), "WH-1", "PAYMENT.CAPTURE.COMPLETED"),
        ("google_channel", delivery(headers=GOOGLE_HEADERS), "chan-1:7", "exists"),
        ("graph_client_state", delivery(graph_body("cs", "cs")), None, "updated"),
        (
            "graph_client_state",
            delivery(j({"value": [{"lifecycleEvent": "reauthorizationRequired"}]})),
            None,
            "reauthorizationRequired",
        ),
        ("shared_secret", delivery(b'{"id":"x","type":"y"}'), None, None),
        ("none", delivery(STRIPE_BODY), None, None),
    ],
)
def test_event_id_and_type(scheme, d, expected_id, expected_type):
    assert v.event_id(scheme, d) == expected_id
    assert v.event_type(scheme, d) == expected_type


@pytest.mark.parametrize("scheme", WEBHOOK_SCHEMES)
@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe", b"[1, 2]", b'{"id": 5, "entry": "x"}', b"[" * 100_000]
)
def test_event_id_and_type_never_raise_on_junk(scheme, body):
    d = delivery(body)
    assert v.event_id(scheme, d) is None or isinstance(v.event_id(scheme, d), str)
    assert v.event_type(scheme, d) is None or isinstance(v.event_type(scheme, d), str)
