#!/usr/bin/env python3
"""Drives an mfalens server with the official Microsoft Graph beta Python SDK (msgraph-beta-sdk)
and checks that every answer parses into the SDK's typed models and carries the expected values.

Usage
-----
    python tests/sdk/conformance.py --base-url http://127.0.0.1:8080/beta \\
        --token ADMIN_TOKEN [--me-token DELEGATED_TOKEN] [--reader-token READONLY_TOKEN] \\
        --expected expected.json [--dump-bodies DIR] [--only SUBSTRING] [-v]
    python tests/sdk/conformance.py --self-test     # against tests/sdk/stub_server.py

Every option can come from the environment instead: MFALENS_BASE_URL, MFALENS_TOKEN,
MFALENS_ME_TOKEN, MFALENS_READER_TOKEN, MFALENS_EXPECTED, MFALENS_DUMP_BODIES.

--token        bearer token allowed to read everything and to PATCH any user (an application
               token, or a delegated one with an administrator role).
--me-token     delegated token of one user, for /me/authentication/...; without it the "me"
               checks and the "me" patches are skipped.
--reader-token a token that may read but not write; when given, a PATCH with it must be 403.
--dump-bodies  writes every JSON response body to DIR (plus DIR/manifest.json naming each one's
               type), ready for tests/sdk/check_csdl.py.

The last line printed is 'N passed, M failed' (', K skipped' added when some were skipped); the
exit status is 1 when anything failed, 2 for bad arguments.

What is checked for every successful answer
-------------------------------------------
* it parses into the SDK model, and no key lands in the model's additional_data (only
  '@odata.context' is tolerated, at the top level);
* every property the SDK model reads is present as a key (null allowed where the expected value
  is null), with the JSON type the SDK reads: integers are numbers (not strings, not booleans),
  booleans are booleans, enum values are exactly one of the SDK enum's members (case included),
  date-times are strings in the contract's format (UTC, 'Z', fraction only when non-zero);
* '@odata.context' is the first key, and the contract's headers are there (request-id,
  client-request-id, OData-Version: 4.0, Content-Type application/json);
* the values equal the expected ones (below). Lists compare in order for metric series and
  irrespective of order everywhere else; date-times compare as instants; a key the expected
  object does not name is not compared (but it must still be a key the SDK model knows).

Errors: a non-2xx answer must raise the SDK's ODataError (a kiota APIError) with
response_status_code, error.code and error.message set, innerError.request-id equal to the
request-id header, the client-request-id the SDK sent echoed back, and innerError.date in the
form 2026-11-23T14:28:30.

Expected-values file (JSON); every section is optional, a missing one is skipped
----------------------------------------------------------------------------------
{
  "metrics": {                                   # one list of cases per function name
    "getMetricsForMfaSignInFailure": [
      {"start": "2026-11-01T00:00:00Z",          # inclusiveIntervalStartDateTime
       "end":   "2026-11-01T00:20:00Z",          # exclusiveIntervalEndDateTime
       "interval": 10,                           # aggregationIntervalInMinutes; null = not sent
       "expected": [{"intervalStartDateTime": "2026-11-01T00:00:00Z", "value": 4},
                    {"intervalStartDateTime": "2026-11-01T00:10:00Z", "value": 0}]}
    ],
    "getMetricsForMfaSignInSuccess": [...], "getMetricsForConditionalAccessBlockedSignIn": [...],
    "getMetricsForConditionalAccessCompliantDevicesSignInSuccess": [...],
    "getMetricsForConditionalAccessManagedDevicesSignInSuccess": [...],
    "getMetricsForSamlSignInSuccess": [...]
  },
  "users": {                                     # key: user id or userPrincipalName
    "alice@contoso.com": {
      "signInPreferences": {"isSystemPreferredAuthenticationMethodEnabled": true,
                            "userPreferredMethodForSecondaryAuthentication": "push"},
      "requirements": {"perUserMfaState": "enforced"}}
  },
  "me": {"requirements": {"perUserMfaState": "disabled"},      # the --me-token user
         "signInPreferences": {...}},                           # (optional)
  "registrationCount": {"expected": [                           # getCredentialUserRegistrationCount
      {"id": "<tenant id>", "totalUserCount": 5,
       "userRegistrationCounts": [{"registrationStatus": "registered", "registrationCount": 4}, ...]}]},
  "userRegistrationDetails": {
    "records": {"<id>": {<full userRegistrationDetails, wire names>}},   # GET .../{id}
    "queries": [{"filter": "isMfaRegistered eq true", "top": 2,          # filter/top: null = not sent
                 "expectedIds": ["<id>", ...], "ordered": false}]        # all pages, via nextLink
  },
  "usersRegisteredByFeature": [                  # includedUserTypes/Roles null = the no-argument form
    {"includedUserTypes": null, "includedUserRoles": null,
     "expected": {"totalUserCount": 5, "userTypes": "all", "userRoles": "all",
                  "userRegistrationFeatureCounts": [{"feature": "mfaCapable", "userCount": 3}, ...]}}],
  "usersRegisteredByMethod": [
    {"includedUserTypes": "guest", "includedUserRoles": "all",
     "expected": {"totalUserCount": 1, "userTypes": "guest", "userRoles": "all",
                  "userRegistrationMethodCounts": [{"authenticationMethod": "mobilePhone", "userCount": 1}]}}],
  "patches": [                                   # run last, in this order
    {"user": "bob@contoso.com" | "<id>" | "me", "resource": "signInPreferences" | "requirements",
     "body": {"perUserMfaState": "enabled"},     # sent through the SDK model (wire names)
     "expectedAfter": {"perUserMfaState": "enforced"}}],         # compared with a GET afterwards
  "errors": {"unknownUser": "<an id that does not exist>",      # default: a random GUID
             "patchUser": "<existing user for the 400 checks>"} # default: first key of "users"
}

Order of the run: metrics, users, me, registration counts, registration details, the two
summaries, error checks (which change nothing), then the patches.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import sys
import traceback
import uuid
from pathlib import Path
from urllib.parse import urlsplit

try:
    import httpx
    from kiota_abstractions.api_error import APIError
    from kiota_abstractions.authentication import (AccessTokenProvider, AllowedHostsValidator,
                                                   BaseBearerTokenAuthenticationProvider)
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_abstractions.serialization import Parsable
    from msgraph_beta import GraphRequestAdapter, GraphServiceClient
    from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_beta.generated.models.sign_in_preferences import SignInPreferences
    from msgraph_beta.generated.models.strong_authentication_requirements import \
        StrongAuthenticationRequirements
    from msgraph_core import PageIterator
except ImportError as e:  # pragma: no cover
    sys.exit(f"conformance.py needs the packages of tests/sdk/requirements.txt ({e}).\n"
             "  python3 -m venv target/sdk-venv && target/sdk-venv/bin/pip install -r tests/sdk/requirements.txt")

HERE = Path(__file__).resolve().parent
UTC = dt.timezone.utc

METRIC_FUNCTIONS = {
    "getMetricsForMfaSignInFailure": "get_metrics_for_mfa_sign_in_failure",
    "getMetricsForMfaSignInSuccess": "get_metrics_for_mfa_sign_in_success",
    "getMetricsForConditionalAccessBlockedSignIn": "get_metrics_for_conditional_access_blocked_sign_in",
    "getMetricsForConditionalAccessCompliantDevicesSignInSuccess":
        "get_metrics_for_conditional_access_compliant_devices_sign_in_success",
    "getMetricsForConditionalAccessManagedDevicesSignInSuccess":
        "get_metrics_for_conditional_access_managed_devices_sign_in_success",
    "getMetricsForSamlSignInSuccess": "get_metrics_for_saml_sign_in_success",
}
METRIC_SUFFIX = ("_with_inclusive_interval_start_date_time_with_exclusive_interval_end_date_time"
                 "_with_aggregation_interval_in_minutes")
CONTRACT_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
INNER_ERROR_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
BAD_REQUEST_CODES = {"BadRequest", "Request_BadRequest"}


# ---------------------------------------------------------------------------------------------
# SDK client pointed at a plain-http base URL with a fixed bearer token
# ---------------------------------------------------------------------------------------------

class StaticTokenProvider(AccessTokenProvider):
    """Returns one fixed token for the allowed hosts. kiota's BaseBearerTokenAuthenticationProvider
    turns it into 'Authorization: Bearer <token>'. (The stock AzureIdentityAuthenticationProvider
    only allows the Microsoft cloud hosts and would silently send no token to 127.0.0.1.)"""

    def __init__(self, token: str, hosts: list[str]):
        self._token = token
        self._validator = AllowedHostsValidator(hosts)

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        return self._token if self._validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._validator


@dataclasses.dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict
    request_body: bytes
    status: int
    headers: httpx.Headers
    body: bytes
    label: str = ""

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class Recorder:
    """Keeps every exchange as it went over the wire (after the SDK's middleware)."""

    def __init__(self):
        self.exchanges: list[Exchange] = []
        self.label = ""

    async def on_response(self, response: httpx.Response):
        await response.aread()
        req = response.request
        self.exchanges.append(Exchange(req.method, str(req.url), dict(req.headers), req.content,
                                       response.status_code, response.headers, response.content,
                                       self.label))

    def last(self) -> Exchange:
        if not self.exchanges:
            raise AssertionError("no HTTP exchange was recorded")
        return self.exchanges[-1]


def make_client(base_url: str, token: str, recorder: Recorder):
    host = urlsplit(base_url).hostname or "127.0.0.1"
    auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token, [host]))
    adapter = GraphRequestAdapter(auth)        # keeps the SDK's default middleware (/me rewrite...)
    adapter.base_url = base_url.rstrip("/")    # e.g. http://127.0.0.1:8080/beta
    adapter._http_client.event_hooks = {"request": [], "response": [recorder.on_response]}
    return GraphServiceClient(request_adapter=adapter), adapter


def me_builder(client):
    """msgraph-beta-sdk 1.66.0 declares GraphServiceClient.me as a plain method."""
    return client.me() if callable(client.me) else client.me


# ---------------------------------------------------------------------------------------------
# Model inspection
# ---------------------------------------------------------------------------------------------

class _Sentinel:
    pass


class _ProbeNode:
    """Stands in for a ParseNode to learn, per JSON key, which attribute a model's deserializer
    sets and which ParseNode getter (and type argument) it uses."""

    def __init__(self):
        self.sentinel = _Sentinel()
        self.call = None

    def __getattr__(self, name):
        def getter(*args, **kwargs):
            self.call = (name, args[0] if args else None)
            return self.sentinel
        return getter


_FIELD_CACHE: dict[type, dict[str, tuple[str, str, object]]] = {}


def model_fields(cls) -> dict[str, tuple[str, str, object]]:
    """JSON key -> (attribute, ParseNode getter name, type argument)."""
    if cls not in _FIELD_CACHE:
        out = {}
        for key in cls().get_field_deserializers():
            inst, probe = cls(), _ProbeNode()
            inst.get_field_deserializers()[key](probe)  # the lambdas close over their instance
            attr = next((f.name for f in dataclasses.fields(inst)
                         if getattr(inst, f.name, None) is probe.sentinel), None)
            out[key] = (attr, probe.call[0] if probe.call else "?", probe.call[1] if probe.call else None)
        _FIELD_CACHE[cls] = out
    return _FIELD_CACHE[cls]


def enum_values(enum_cls) -> set[str]:
    return {m.value for m in enum_cls}


def parse_wire_datetime(s: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def validate_model(fail, model, raw, where: str, top: bool = True, null_ok: bool = True):
    """Checks one parsed model against its raw JSON object (see module docstring)."""
    if model is None:
        fail(f"{where}: the SDK returned no object")
        return
    if not isinstance(model, Parsable):
        fail(f"{where}: not a kiota model: {type(model).__name__}")
        return
    if not isinstance(raw, dict):
        fail(f"{where}: body is not a JSON object: {json.dumps(raw)[:200]}")
        return
    extra = set(getattr(model, "additional_data", None) or {}) - ({"@odata.context"} if top else set())
    if extra:
        fail(f"{where}: keys unknown to the SDK model {type(model).__name__} (kept in additional_data): "
             f"{sorted(extra)}")
    for key, (attr, getter, arg) in model_fields(type(model)).items():
        if key.startswith("@odata."):
            if key in raw and raw[key] is not None:
                if key == "@odata.nextLink" and not (isinstance(raw[key], str) and raw[key].startswith("http")):
                    fail(f"{where}: @odata.nextLink must be an absolute http(s) URL (the SDK's "
                         f"PageIterator refuses others): {raw[key]!r}")
            continue
        if key not in raw:
            fail(f"{where}: key '{key}' is missing (the SDK model {type(model).__name__} reads it)")
            continue
        value = raw[key]
        parsed = getattr(model, attr) if attr else None
        if value is None:
            if not null_ok:
                fail(f"{where}: key '{key}' is null")
            continue
        if parsed is None:
            fail(f"{where}: '{key}': {json.dumps(value)} did not parse with {getter} "
                 f"(wrong JSON type or not an enum member)")
            continue
        w = f"{where}.{key}"
        if getter == "get_int_value" and (isinstance(value, bool) or not isinstance(value, int)):
            fail(f"{w}: must be a JSON integer, got {json.dumps(value)}")
        elif getter == "get_bool_value" and not isinstance(value, bool):
            fail(f"{w}: must be a JSON boolean, got {json.dumps(value)}")
        elif getter == "get_str_value" and not isinstance(value, str):
            fail(f"{w}: must be a JSON string, got {json.dumps(value)}")
        elif getter == "get_datetime_value":
            if not isinstance(value, str) or not CONTRACT_DATETIME.match(value):
                fail(f"{w}: date-time must be UTC with 'Z' and a fraction only when non-zero, got {json.dumps(value)}")
        elif getter == "get_enum_value":
            if value not in enum_values(arg):
                fail(f"{w}: {json.dumps(value)} is not exactly a member of {arg.__name__} "
                     f"{sorted(enum_values(arg))}")
        elif getter == "get_collection_of_primitive_values":
            if not isinstance(value, list) or not all(isinstance(x, arg) for x in value):
                fail(f"{w}: must be a JSON array of {getattr(arg, '__name__', arg)}, got {json.dumps(value)[:200]}")
        elif getter == "get_collection_of_object_values":
            if not isinstance(value, list) or len(value) != len(parsed):
                fail(f"{w}: must be a JSON array of objects, got {json.dumps(value)[:200]}")
            else:
                for i, (m, r) in enumerate(zip(parsed, value)):
                    validate_model(fail, m, r, f"{w}[{i}]", top=False, null_ok=null_ok)
        elif getter == "get_object_value":
            validate_model(fail, parsed, value, w, top=False, null_ok=null_ok)


def _norm(v):
    if isinstance(v, str):
        t = parse_wire_datetime(v) if re.match(r"^\d{4}-\d\d-\d\dT", v) else None
        return ("dt", t.astimezone(UTC).isoformat()) if t else v
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


def _canon(v) -> str:
    return json.dumps(_norm(v), sort_keys=True)


def compare(fail, actual, expected, where: str, ordered: bool = False):
    """Expected ⊆ actual for objects; lists equal (ordered or as multisets); scalars strictly."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            fail(f"{where}: expected an object, got {json.dumps(actual)[:200]}")
            return
        for k, v in expected.items():
            if k not in actual:
                fail(f"{where}: key '{k}' missing (expected {json.dumps(v)[:120]})")
            else:
                compare(fail, actual[k], v, f"{where}.{k}", ordered)
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            fail(f"{where}: expected an array, got {json.dumps(actual)[:200]}")
        elif ordered:
            if len(actual) != len(expected):
                fail(f"{where}: {len(actual)} items, expected {len(expected)}: "
                     f"got {json.dumps(actual)[:400]} expected {json.dumps(expected)[:400]}")
            else:
                for i, (a, e) in enumerate(zip(actual, expected)):
                    compare(fail, a, e, f"{where}[{i}]", ordered)
        else:
            # each expected item must match a distinct actual item, on the keys it names
            pool = list(actual)
            for e in expected:
                idx = next((i for i, a in enumerate(pool) if _matches(a, e)), None)
                if idx is None:
                    fail(f"{where}: no item matches {json.dumps(e)[:200]}; got {json.dumps(actual)[:400]}")
                else:
                    pool.pop(idx)
            if pool and len(actual) != len(expected):
                fail(f"{where}: unexpected extra items {json.dumps(pool)[:300]}")
    else:
        if type(actual) is not type(expected) and not (
                isinstance(actual, str) and isinstance(expected, str)):
            fail(f"{where}: got {json.dumps(actual)}, expected {json.dumps(expected)}")
        elif _canon(actual) != _canon(expected):
            fail(f"{where}: got {json.dumps(actual)}, expected {json.dumps(expected)}")


def _matches(actual, expected) -> bool:
    errs = []
    compare(errs.append, actual, expected, "")
    return not errs


# ---------------------------------------------------------------------------------------------
# Check runner
# ---------------------------------------------------------------------------------------------

class Skip(Exception):
    pass


class Ctx:
    def __init__(self):
        self.failures: list[str] = []

    def fail(self, msg: str):
        self.failures.append(msg)

    def expect(self, cond, msg: str):
        if not cond:
            self.fail(msg)
        return bool(cond)


class Runner:
    def __init__(self, only: str | None, verbose: bool, out=sys.stdout):
        self.only, self.verbose, self.out = only, verbose, out
        self.passed = self.failed = self.skipped = 0

    async def check(self, name: str, fn):
        if self.only and self.only not in name:
            return
        ctx = Ctx()
        try:
            await fn(ctx)
        except Skip as s:
            self.skipped += 1
            print(f"SKIP {name}: {s}", file=self.out)
            return
        except APIError as e:
            code = getattr(getattr(e, "error", None), "code", None)
            msg = getattr(getattr(e, "error", None), "message", None)
            ctx.fail(f"the SDK raised {type(e).__name__} status={e.response_status_code} code={code} message={msg!r}")
        except Exception as e:
            ctx.fail(f"unexpected {type(e).__name__}: {e}" + ("\n" + traceback.format_exc() if self.verbose else ""))
        if ctx.failures:
            self.failed += 1
            print(f"FAIL {name}", file=self.out)
            for f in ctx.failures:
                print(f"     - {f}", file=self.out)
        else:
            self.passed += 1
            print(f"PASS {name}", file=self.out)

    def summary(self) -> str:
        s = f"{self.passed} passed, {self.failed} failed"
        return s + (f", {self.skipped} skipped" if self.skipped else "")


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

def check_response_common(ctx: Ctx, ex: Exchange, where: str, expect_body: bool = True):
    h = ex.headers
    ctx.expect(h.get("request-id"), f"{where}: no request-id header")
    ctx.expect(h.get("client-request-id"), f"{where}: no client-request-id header")
    sent_crid = {k.lower(): v for k, v in ex.request_headers.items()}.get("client-request-id")
    if sent_crid:
        ctx.expect(h.get("client-request-id") == sent_crid,
                   f"{where}: client-request-id {h.get('client-request-id')!r} does not echo the sent {sent_crid!r}")
    ctx.expect(h.get("OData-Version") == "4.0", f"{where}: OData-Version header is {h.get('OData-Version')!r}, expected '4.0'")
    if expect_body:
        ctype = h.get("content-type", "")
        ctx.expect(ctype.split(";")[0].strip().lower() == "application/json",
                   f"{where}: Content-Type {ctype!r} is not application/json")
        body = ex.json()
        if ex.status < 400:
            ctx.expect(isinstance(body, dict) and next(iter(body), None) == "@odata.context",
                       f"{where}: '@odata.context' is not the first key of the body")


class Suite:
    def __init__(self, args, expected: dict, runner: Runner):
        self.a, self.x, self.r = args, expected, runner
        self.rec = Recorder()
        self.client, self.adapter = make_client(args.base_url, args.token, self.rec)
        self.me_client = make_client(args.base_url, args.me_token, self.rec)[0] if args.me_token else None
        self.reader_client = make_client(args.base_url, args.reader_token, self.rec)[0] if args.reader_token else None
        self.base = args.base_url.rstrip("/")

    def _label(self, label: str):
        self.rec.label = label

    # -- helpers ------------------------------------------------------------------------------
    async def _get_validated(self, ctx, label, coro_factory, where):
        self._label(label)
        n = len(self.rec.exchanges)
        resp = await coro_factory()
        ctx.expect(len(self.rec.exchanges) > n, f"{where}: no HTTP exchange recorded")
        ex = self.rec.last()
        if self.a.verbose:
            print(f"     {ex.method} {ex.url} -> {ex.status}", file=self.r.out)
        check_response_common(ctx, ex, where)
        raw = ex.json()
        validate_model(ctx.fail, resp, raw, where)
        return resp, raw, ex

    async def _expect_error(self, ctx, coro_factory, status: int, codes: set[str], where: str,
                            mention: tuple[str, ...] = ()):
        self._label("error")
        try:
            await coro_factory()
        except ODataError as e:
            ex = self.rec.last()
            check_response_common(ctx, ex, where)
            ctx.expect(e.response_status_code == status,
                       f"{where}: status {e.response_status_code}, expected {status}")
            err = e.error
            if not ctx.expect(err is not None, f"{where}: error envelope did not parse (no 'error' object)"):
                return e
            ctx.expect(err.code in codes, f"{where}: error.code {err.code!r}, expected one of {sorted(codes)}")
            ctx.expect(err.message, f"{where}: error.message is empty")
            if mention and err.message:
                ctx.expect(any(m.lower() in err.message.lower() for m in mention),
                           f"{where}: error.message {err.message!r} names none of {list(mention)}")
            raw = ex.json() or {}
            inner = (raw.get("error") or {}).get("innerError")
            if ctx.expect(isinstance(inner, dict), f"{where}: error.innerError missing"):
                ctx.expect(isinstance(inner.get("date"), str) and INNER_ERROR_DATE.match(inner["date"]),
                           f"{where}: innerError.date {inner.get('date')!r} is not like 2026-11-23T14:28:30")
                ctx.expect(inner.get("request-id") == ex.headers.get("request-id"),
                           f"{where}: innerError.request-id {inner.get('request-id')!r} != header {ex.headers.get('request-id')!r}")
                ctx.expect(inner.get("client-request-id") == ex.headers.get("client-request-id"),
                           f"{where}: innerError.client-request-id differs from the header")
            extra = set(raw.get("error", {})) - {"code", "message", "innerError", "details", "target"}
            ctx.expect(not extra, f"{where}: unexpected keys in error: {sorted(extra)}")
            return e
        except APIError as e:
            ctx.fail(f"{where}: raised a bare APIError (status {e.response_status_code}): the body is "
                     f"not a Graph error envelope the SDK can parse: {e.message!r}")
            return e
        ctx.fail(f"{where}: expected HTTP {status}, but the call succeeded")
        return None

    def _config(self, qp=None, client_request_id: str | None = None):
        cfg = RequestConfiguration(query_parameters=qp)
        if client_request_id:
            cfg.headers.add("client-request-id", client_request_id)
        return cfg

    # -- 1. metrics ---------------------------------------------------------------------------
    def _metric_builder(self, fn_name, start, end, client=None):
        sa = (client or self.client).reports.service_activity
        return getattr(sa, METRIC_FUNCTIONS[fn_name] + METRIC_SUFFIX)(
            exclusive_interval_end_date_time=end, inclusive_interval_start_date_time=start)

    @staticmethod
    def _qp_class(builder):
        return next(getattr(builder, n) for n in dir(builder) if n.endswith("GetQueryParameters"))

    async def metrics(self):
        cases_by_fn = self.x.get("metrics")
        if not cases_by_fn:
            await self.r.check("metrics", self._skip("no 'metrics' section in the expected file"))
            return
        for fn_name, cases in cases_by_fn.items():
            if fn_name not in METRIC_FUNCTIONS:
                await self.r.check(f"metrics {fn_name}", self._fail_now(f"unknown function {fn_name}"))
                continue
            for i, case in enumerate(cases):
                await self.r.check(f"metrics {fn_name} #{i} (interval={case.get('interval')}) via SDK",
                                   lambda ctx, f=fn_name, c=case: self._metric_case(ctx, f, c))
            c0 = cases[0] if cases else None
            if c0:
                await self.r.check(f"metrics {fn_name} documented comma form",
                                   lambda ctx, f=fn_name, c=c0: self._metric_documented(ctx, f, c))
        first = next(((f, c[0]) for f, c in cases_by_fn.items() if c and f in METRIC_FUNCTIONS), None)
        if first:
            await self.r.check("metrics errors are 400 and name the problem",
                               lambda ctx: self._metric_errors(ctx, *first))

    async def _metric_case(self, ctx, fn_name, case):
        start, end = parse_wire_datetime(case["start"]), parse_wire_datetime(case["end"])
        b = self._metric_builder(fn_name, start, end)
        qp = self._qp_class(b)(aggregation_interval_in_minutes=case["interval"]) if case.get("interval") is not None else None
        resp, raw, ex = await self._get_validated(ctx, "Collection(serviceActivityValueMetric)",
                                                  lambda: b.get(request_configuration=self._config(qp)), fn_name)
        if isinstance(raw, dict):
            compare(ctx.fail, raw.get("value"), case["expected"], f"{fn_name}.value", ordered=True)
            ctx.expect(resp is not None and resp.value is not None and len(resp.value) == len(case["expected"]),
                       f"{fn_name}: the SDK model holds {len(resp.value or []) if resp else 0} metrics, expected {len(case['expected'])}")

    async def _metric_documented(self, ctx, fn_name, case):
        iv = case.get("interval")
        args = [f"inclusiveIntervalStartDateTime={case['start']}", f"exclusiveIntervalEndDateTime={case['end']}"]
        if iv is not None:
            args.append(f"aggregationIntervalInMinutes={iv}")
        url = f"{self.base}/reports/serviceActivity/{fn_name}({','.join(args)})"
        b = self._metric_builder(fn_name, dt.datetime.now(UTC), dt.datetime.now(UTC)).with_url(url)
        resp, raw, ex = await self._get_validated(ctx, "Collection(serviceActivityValueMetric)", b.get, fn_name + " (documented form)")
        if isinstance(raw, dict):
            compare(ctx.fail, raw.get("value"), case["expected"], f"{fn_name}.value", ordered=True)

    async def _metric_errors(self, ctx, fn_name, case):
        start, end = parse_wire_datetime(case["start"]), parse_wire_datetime(case["end"])
        b = self._metric_builder(fn_name, start, end)
        qp = self._qp_class(b)
        await self._expect_error(ctx, lambda: b.get(self._config(qp(aggregation_interval_in_minutes=7))),
                                 400, BAD_REQUEST_CODES, "interval 7", ("aggregationIntervalInMinutes", "7"))
        old = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(days=31)
        b_old = self._metric_builder(fn_name, old, old + dt.timedelta(hours=1))
        await self._expect_error(ctx, b_old.get, 400, BAD_REQUEST_CODES, "start older than 30 days",
                                 ("inclusiveIntervalStartDateTime", "30 days"))
        b_rev = self._metric_builder(fn_name, end, start)
        await self._expect_error(ctx, b_rev.get, 400, BAD_REQUEST_CODES, "end before start",
                                 ("exclusiveIntervalEndDateTime", "inclusiveIntervalStartDateTime"))
        url = (f"{self.base}/reports/serviceActivity/{fn_name}(inclusiveIntervalStartDateTime={case['start']},"
               f"exclusiveIntervalEndDateTime={case['end']},colour=10)")
        await self._expect_error(ctx, b.with_url(url).get, 400, BAD_REQUEST_CODES, "unknown parameter", ("colour",))

    # -- 2./3. users, me ------------------------------------------------------------------------
    def _auth_builder(self, user_key: str, client=None):
        if user_key == "me":
            if not self.me_client:
                raise Skip("no --me-token")
            return me_builder(self.me_client).authentication
        return (client or self.client).users.by_user_id(user_key).authentication

    async def users(self):
        users = self.x.get("users") or {}
        if not users:
            await self.r.check("users", self._skip("no 'users' section in the expected file"))
        for key, exp in users.items():
            for res in ("signInPreferences", "requirements"):
                if res in exp:
                    await self.r.check(f"users/{key}/authentication/{res} GET",
                                       lambda ctx, k=key, r=res, e=exp[res]: self._user_get(ctx, k, r, e))
        me = self.x.get("me") or {}
        for res in ("signInPreferences", "requirements"):
            if res in me:
                await self.r.check(f"me/authentication/{res} GET",
                                   lambda ctx, r=res, e=me[res]: self._user_get(ctx, "me", r, e))

    async def _user_get(self, ctx, key, res, exp):
        auth = self._auth_builder(key)
        rb = auth.sign_in_preferences if res == "signInPreferences" else auth.requirements
        resp, raw, ex = await self._get_validated(ctx, res if res == "signInPreferences" else "strongAuthenticationRequirements",
                                                  rb.get, f"{key}/{res}")
        compare(ctx.fail, raw, exp, f"{key}/{res}")

    # -- 4. credential registration counts ------------------------------------------------------
    async def registration_count(self):
        exp = (self.x.get("registrationCount") or {}).get("expected")
        if exp is None:
            await self.r.check("getCredentialUserRegistrationCount", self._skip("no 'registrationCount' section"))
            return

        async def via_sdk(ctx):
            rb = self.client.reports.get_credential_user_registration_count
            resp, raw, ex = await self._get_validated(ctx, "Collection(credentialUserRegistrationCount)", rb.get,
                                                      "getCredentialUserRegistrationCount()")
            compare(ctx.fail, (raw or {}).get("value"), exp, "getCredentialUserRegistrationCount.value")

        async def without_parens(ctx):
            rb = self.client.reports.get_credential_user_registration_count.with_url(
                f"{self.base}/reports/getCredentialUserRegistrationCount")
            resp, raw, ex = await self._get_validated(ctx, "Collection(credentialUserRegistrationCount)", rb.get,
                                                      "getCredentialUserRegistrationCount")
            compare(ctx.fail, (raw or {}).get("value"), exp, "getCredentialUserRegistrationCount.value")

        await self.r.check("getCredentialUserRegistrationCount() via SDK", via_sdk)
        await self.r.check("getCredentialUserRegistrationCount without ()", without_parens)

    # -- 5. userRegistrationDetails -------------------------------------------------------------
    async def registration_details(self):
        sec = self.x.get("userRegistrationDetails")
        if not sec:
            await self.r.check("userRegistrationDetails", self._skip("no 'userRegistrationDetails' section"))
            return
        records = sec.get("records") or {}
        for rid, rec in records.items():
            async def by_id(ctx, rid=rid, rec=rec):
                rb = self.client.reports.authentication_methods.user_registration_details.by_user_registration_details_id(rid)
                resp, raw, ex = await self._get_validated(ctx, "userRegistrationDetails", rb.get, f"userRegistrationDetails/{rid}")
                compare(ctx.fail, raw, rec, f"userRegistrationDetails/{rid}")
            await self.r.check(f"userRegistrationDetails/{rid} GET", by_id)
        for i, q in enumerate(sec.get("queries") or []):
            await self.r.check(f"userRegistrationDetails query #{i} filter={q.get('filter')!r} top={q.get('top')} (nextLink via with_url)",
                               lambda ctx, q=q: self._urd_query(ctx, q, records, use_iterator=False))
            await self.r.check(f"userRegistrationDetails query #{i} (PageIterator)",
                               lambda ctx, q=q: self._urd_query(ctx, q, records, use_iterator=True))

    async def _urd_query(self, ctx, q, records, use_iterator):
        urd = self.client.reports.authentication_methods.user_registration_details
        qp = urd.UserRegistrationDetailsRequestBuilderGetQueryParameters(filter=q.get("filter"), top=q.get("top"))
        resp, raw, ex = await self._get_validated(ctx, "Collection(userRegistrationDetails)",
                                                  lambda: urd.get(request_configuration=self._config(qp)), "page 1")
        if resp is None or resp.value is None:
            return
        top, want = q.get("top"), q["expectedIds"]
        pages = [(resp, raw)]
        ids: list[str] = []
        if use_iterator:
            it = PageIterator(resp, self.adapter)
            await it.iterate(lambda item: ids.append(item.id) or True)
            later = [e for e in self.rec.exchanges[self.rec.exchanges.index(ex) + 1:]]
            for e in later:
                check_response_common(ctx, e, f"page via PageIterator {e.url}")
        else:
            cur = resp
            for _ in range(1000):
                if not cur.odata_next_link:
                    break
                cur, r2, _ = await self._get_validated(ctx, "Collection(userRegistrationDetails)",
                                                       urd.with_url(cur.odata_next_link).get, f"page {len(pages) + 1}")
                if cur is None or cur.value is None:
                    return
                pages.append((cur, r2))
            ids = [m.id for p, _ in pages for m in p.value]
            for n, (p, r2) in enumerate(pages):
                if top is not None:
                    ctx.expect(len(p.value) <= top, f"page {n + 1} has {len(p.value)} items, more than $top={top}")
                if n < len(pages) - 1:
                    ctx.expect(len(p.value) > 0, f"page {n + 1} is empty but has a nextLink")
                for m, rr in zip(p.value, (r2 or {}).get("value", [])):
                    if m.id in records:
                        compare(ctx.fail, rr, records[m.id], f"page {n + 1} item {m.id}")
        if top is not None and len(want) > top:
            ctx.expect(resp.odata_next_link, f"first page: {len(want)} results expected with $top={top}, but no @odata.nextLink")
        if q.get("ordered"):
            ctx.expect(ids == want, f"ids {ids} != expected {want} (ordered)")
        else:
            ctx.expect(sorted(ids) == sorted(want), f"ids {sorted(ids)} != expected {sorted(want)}")
        ctx.expect(len(ids) == len(set(ids)), f"an id appears on more than one page: {ids}")

    # -- 6. usersRegisteredByFeature / ByMethod -------------------------------------------------
    async def summaries(self):
        am = self.client.reports.authentication_methods
        for sec, plain, withargs, typ in (
                ("usersRegisteredByFeature", am.users_registered_by_feature,
                 am.users_registered_by_feature_with_included_user_types_with_included_user_roles,
                 "userRegistrationFeatureSummary"),
                ("usersRegisteredByMethod", am.users_registered_by_method,
                 am.users_registered_by_method_with_included_user_types_with_included_user_roles,
                 "userRegistrationMethodSummary")):
            cases = self.x.get(sec)
            if not cases:
                await self.r.check(sec, self._skip(f"no '{sec}' section"))
                continue
            for i, c in enumerate(cases):
                ut, ur = c.get("includedUserTypes"), c.get("includedUserRoles")

                async def run(ctx, c=c, ut=ut, ur=ur, sec=sec, plain=plain, withargs=withargs, typ=typ):
                    if ut is None and ur is None:
                        rb = plain
                    else:
                        rb = withargs(included_user_roles=ur or "all", included_user_types=ut or "all")
                    resp, raw, ex = await self._get_validated(ctx, typ, rb.get, sec)
                    compare(ctx.fail, raw, c["expected"], sec)
                await self.r.check(f"{sec} #{i} types={ut} roles={ur}", run)

    # -- errors ---------------------------------------------------------------------------------
    async def errors(self):
        errs = self.x.get("errors") or {}
        unknown = errs.get("unknownUser") or str(uuid.uuid4())
        users = list((self.x.get("users") or {}).keys())
        patch_user = errs.get("patchUser") or (users[0] if users else None)

        async def not_found(ctx):
            crid = str(uuid.uuid4())
            for res in ("requirements", "signInPreferences"):
                auth = self.client.users.by_user_id(unknown).authentication
                rb = auth.requirements if res == "requirements" else auth.sign_in_preferences
                await self._expect_error(ctx, lambda rb=rb: rb.get(self._config(client_request_id=crid)), 404,
                                         {"Request_ResourceNotFound"}, f"GET unknown user {res}")
            await self._expect_error(
                ctx, lambda: self.client.users.by_user_id(unknown).authentication.requirements.patch(
                    self.build_model(StrongAuthenticationRequirements, {"perUserMfaState": "enforced"})),
                404, {"Request_ResourceNotFound"}, "PATCH unknown user requirements")

        async def bad_enum(ctx):
            if not patch_user:
                raise Skip("no user to PATCH (give errors.patchUser or a 'users' section)")
            for res, key in (("requirements", "perUserMfaState"),
                             ("signInPreferences", "userPreferredMethodForSecondaryAuthentication")):
                auth = self.client.users.by_user_id(patch_user).authentication
                rb = auth.requirements if res == "requirements" else auth.sign_in_preferences
                model = StrongAuthenticationRequirements if res == "requirements" else SignInPreferences
                self._label("before")
                await rb.get()
                before_raw = self.rec.last().json()
                await self._expect_error(ctx, lambda: rb.patch(model(additional_data={key: "bogusValue"})),
                                         400, BAD_REQUEST_CODES, f"PATCH {res} {key}='bogusValue'",
                                         ("bogusValue", key))
                sent = self.rec.last().request_body
                ctx.expect(json.loads(sent or b"null") == {key: "bogusValue"}, f"the SDK sent {sent!r}")
                await self._expect_error(ctx, lambda: rb.patch(model(additional_data={"noSuchProperty": True})),
                                         400, BAD_REQUEST_CODES, f"PATCH {res} unknown property", ("noSuchProperty",))
                self._label("after")
                await rb.get()
                after_raw = self.rec.last().json()
                strip = lambda d: {k: v for k, v in (d or {}).items() if not k.startswith("@odata.")}
                ctx.expect(strip(before_raw) == strip(after_raw),
                           f"{res} changed after rejected PATCHes: {strip(before_raw)} -> {strip(after_raw)}")

        async def unauthenticated(ctx):
            rec = Recorder()
            bad, _ = make_client(self.a.base_url, "not-a-valid-token-" + uuid.uuid4().hex, rec)
            saved, self.rec = self.rec, rec
            try:
                e = await self._expect_error(ctx, bad.reports.get_credential_user_registration_count.get, 401,
                                             {"InvalidAuthenticationToken"}, "bad token")
                if e is not None:
                    www = rec.last().headers.get("WWW-Authenticate", "")
                    ctx.expect(www.lower().startswith("bearer"), f"401 without 'WWW-Authenticate: Bearer ...' ({www!r})")
            finally:
                self.rec = saved

        async def forbidden(ctx):
            if not self.reader_client or not patch_user:
                raise Skip("no --reader-token" if not self.reader_client else "no user to PATCH")
            rb = self.reader_client.users.by_user_id(patch_user).authentication.requirements
            await self._expect_error(ctx, lambda: rb.patch(StrongAuthenticationRequirements(additional_data={"perUserMfaState": "disabled"})),
                                     403, {"Authorization_RequestDenied"}, "PATCH with read-only token")

        await self.r.check("unknown user -> 404 Request_ResourceNotFound (ODataError)", not_found)
        await self.r.check("PATCH unknown enum value / unknown property -> 400, state unchanged", bad_enum)
        await self.r.check("invalid token -> 401 InvalidAuthenticationToken", unauthenticated)
        await self.r.check("PATCH with read-only token -> 403 Authorization_RequestDenied", forbidden)

    # -- patches --------------------------------------------------------------------------------
    async def patches(self):
        for i, p in enumerate(self.x.get("patches") or []):
            await self.r.check(f"PATCH #{i} {p['user']}/authentication/{p['resource']} {json.dumps(p['body'])}",
                               lambda ctx, p=p: self._patch(ctx, p))

    @staticmethod
    def build_model(cls, body: dict):
        """A wire-shaped dict -> SDK model, through the model's own fields. Unknown keys and
        explicit nulls go to additional_data (the only way the SDK sends them)."""
        m = cls()
        fields = model_fields(cls)
        for k, v in body.items():
            attr, getter, arg = fields.get(k, (None, None, None))
            if attr is None or v is None or (getter == "get_enum_value" and v not in enum_values(arg)):
                m.additional_data[k] = v
            elif getter == "get_enum_value":
                setattr(m, attr, arg(v))
            else:
                setattr(m, attr, v)
        return m

    async def _patch(self, ctx, p):
        res = p["resource"]
        auth = self._auth_builder(p["user"])
        rb = auth.sign_in_preferences if res == "signInPreferences" else auth.requirements
        cls = SignInPreferences if res == "signInPreferences" else StrongAuthenticationRequirements
        self._label("patch")
        result = await rb.patch(self.build_model(cls, p["body"]))
        ex = self.rec.last()
        ctx.expect(ex.method == "PATCH", f"last request was {ex.method}")
        ctx.expect(json.loads(ex.request_body or b"null") == p["body"],
                   f"the SDK sent {ex.request_body!r}, expected {json.dumps(p['body'])}")
        ctx.expect(ex.status == 204, f"PATCH answered {ex.status}, the contract says 204 No Content")
        ctx.expect(result is None, f"PATCH returned a body the SDK parsed: {result!r}")
        check_response_common(ctx, ex, "PATCH", expect_body=False)
        if "expectedAfter" in p:
            resp, raw, _ = await self._get_validated(ctx, res if res == "signInPreferences" else "strongAuthenticationRequirements",
                                                     rb.get, f"GET after PATCH {res}")
            compare(ctx.fail, raw, p["expectedAfter"], f"{p['user']}/{res} after PATCH")

    # -- misc -----------------------------------------------------------------------------------
    @staticmethod
    def _skip(why):
        async def f(ctx):
            raise Skip(why)
        return f

    @staticmethod
    def _fail_now(why):
        async def f(ctx):
            ctx.fail(why)
        return f

    async def run_all(self):
        await self.metrics()
        await self.users()
        await self.registration_count()
        await self.registration_details()
        await self.summaries()
        await self.errors()
        await self.patches()

    def dump_bodies(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        manifest = {}
        for i, ex in enumerate(self.rec.exchanges):
            body = ex.json()
            if body is None:
                continue
            typ = "error" if ex.status >= 400 else ex.label
            if not typ or typ in ("before", "after", "patch"):
                continue
            name = f"{i:03d}-{re.sub(r'[^A-Za-z0-9]+', '_', typ).strip('_')}.json"
            (directory / name).write_text(json.dumps(body, indent=1))
            manifest[name] = typ
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return len(manifest)


async def run(args, expected: dict, out=sys.stdout) -> Runner:
    runner = Runner(args.only, args.verbose, out)
    suite = Suite(args, expected, runner)
    await suite.run_all()
    if args.dump_bodies:
        n = suite.dump_bodies(Path(args.dump_bodies))
        print(f"wrote {n} response bodies to {args.dump_bodies}", file=out)
    args._suite = suite
    return runner


# ---------------------------------------------------------------------------------------------
# Self-test against the stub
# ---------------------------------------------------------------------------------------------

def self_test_data(now: dt.datetime | None = None):
    """Sign-in events for the stub and the expectations they imply, worked out by hand."""
    now = now or dt.datetime.now(UTC)
    t0 = now.replace(minute=(now.minute // 10) * 10, second=0, microsecond=0) - dt.timedelta(hours=3)
    at = lambda m, s=0: t0 + dt.timedelta(minutes=m, seconds=s)
    z = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    F, S, B, C, M, SA = list(METRIC_FUNCTIONS)
    ev = lambda t, *fs: {"createdDateTime": z(t), "metrics": list(fs)}
    events = [ev(at(1), F), ev(at(3), F), ev(at(12), F), ev(at(19), F),
              ev(at(0), S), ev(at(7), S), ev(at(20), S),
              ev(at(29, 59), C), ev(at(5), M), ev(at(10), SA)]
    series = lambda starts, vals: [{"intervalStartDateTime": z(at(s)), "value": v} for s, v in zip(starts, vals)]
    metrics = {
        F: [{"start": z(at(0)), "end": z(at(20)), "interval": 10, "expected": series([0, 10], [2, 2])},
            {"start": z(at(0)), "end": z(at(20)), "interval": None, "expected": series([0, 15], [3, 1])},
            {"start": z(at(0)), "end": z(at(20)), "interval": 5, "expected": series([0, 5, 10, 15], [2, 0, 1, 1])}],
        S: [{"start": z(at(0)), "end": z(at(20)), "interval": 10, "expected": series([0, 10], [2, 0])}],
        B: [{"start": z(at(0)), "end": z(at(30)), "interval": 30, "expected": series([0], [0])}],
        C: [{"start": z(at(0)), "end": z(at(30)), "interval": 30, "expected": series([0], [1])}],
        M: [{"start": z(at(0)), "end": z(at(17)), "interval": 15, "expected": series([0, 15], [1, 0])}],
        SA: [{"start": z(at(0)), "end": z(at(20)), "interval": 10, "expected": series([0, 10], [0, 1])}],
    }
    ids = {n: f"00000000-0000-0000-0000-00000000000{n}" for n in range(1, 6)}
    alice = {"id": ids[1], "userPrincipalName": "alice@contoso.com", "userDisplayName": "Alice Admin",
             "userType": "member", "isAdmin": True, "isMfaRegistered": True, "isMfaCapable": True,
             "isSsprRegistered": True, "isSsprEnabled": True, "isSsprCapable": True,
             "isPasswordlessCapable": False, "methodsRegistered": ["microsoftAuthenticatorPush", "mobilePhone"],
             "defaultMfaMethod": "microsoftAuthenticatorPush", "systemPreferredAuthenticationMethods": ["push"],
             "isSystemPreferredAuthenticationMethodEnabled": True,
             "userPreferredMethodForSecondaryAuthentication": "push"}
    carol = {"id": ids[3], "userPrincipalName": "carol@contoso.com", "userType": "member", "isAdmin": False,
             "isMfaRegistered": False, "isMfaCapable": False, "isSsprRegistered": False,
             "isPasswordlessCapable": False, "methodsRegistered": [], "defaultMfaMethod": "none",
             "userPreferredMethodForSecondaryAuthentication": "none"}
    expected = {
        "metrics": metrics,
        "users": {
            ids[1]: {"signInPreferences": {"isSystemPreferredAuthenticationMethodEnabled": True,
                                           "userPreferredMethodForSecondaryAuthentication": "push"},
                     "requirements": {"perUserMfaState": "enforced"}},
            "bob@contoso.com": {"signInPreferences": {"isSystemPreferredAuthenticationMethodEnabled": False,
                                                      "userPreferredMethodForSecondaryAuthentication": "sms"},
                                "requirements": {"perUserMfaState": "disabled"}},
            "carol@contoso.com": {"signInPreferences": {"isSystemPreferredAuthenticationMethodEnabled": False,
                                                        "userPreferredMethodForSecondaryAuthentication": None}},
            "dave_fabrikam.com#EXT#@contoso.com": {"requirements": {"perUserMfaState": "disabled"}},
        },
        "me": {"requirements": {"perUserMfaState": "disabled"},
               "signInPreferences": {"isSystemPreferredAuthenticationMethodEnabled": False,
                                     "userPreferredMethodForSecondaryAuthentication": "sms"}},
        "registrationCount": {"expected": [{
            "id": "5b2d9b6e-6a57-4d4c-9c3a-6f0d1c0f7a11", "totalUserCount": 5,
            "userRegistrationCounts": [{"registrationStatus": "registered", "registrationCount": 4},
                                       {"registrationStatus": "enabled", "registrationCount": 5},
                                       {"registrationStatus": "capable", "registrationCount": 4},
                                       {"registrationStatus": "mfaRegistered", "registrationCount": 3}]}]},
        "userRegistrationDetails": {
            "records": {ids[1]: alice, ids[3]: carol},
            "queries": [{"filter": "isMfaRegistered eq true", "top": 2, "expectedIds": [ids[1], ids[2], ids[4]]},
                        {"filter": None, "top": 2, "expectedIds": list(ids.values()), "ordered": True},
                        {"filter": "isSsprRegistered eq true and userType eq 'member'", "top": None,
                         "expectedIds": [ids[1], ids[2], ids[5]]}]},
        "usersRegisteredByFeature": [
            {"includedUserTypes": None, "includedUserRoles": None,
             "expected": {"totalUserCount": 5, "userTypes": "all", "userRoles": "all",
                          "userRegistrationFeatureCounts": [
                              {"feature": "ssprRegistered", "userCount": 4}, {"feature": "ssprEnabled", "userCount": 5},
                              {"feature": "ssprCapable", "userCount": 4}, {"feature": "passwordlessCapable", "userCount": 0},
                              {"feature": "mfaCapable", "userCount": 3}]}},
            {"includedUserTypes": "member", "includedUserRoles": "admin",
             "expected": {"totalUserCount": 1, "userTypes": "member", "userRoles": "admin",
                          "userRegistrationFeatureCounts": [
                              {"feature": "ssprRegistered", "userCount": 1}, {"feature": "ssprEnabled", "userCount": 1},
                              {"feature": "ssprCapable", "userCount": 1}, {"feature": "passwordlessCapable", "userCount": 0},
                              {"feature": "mfaCapable", "userCount": 1}]}}],
        "usersRegisteredByMethod": [
            {"includedUserTypes": None, "includedUserRoles": None,
             "expected": {"totalUserCount": 5, "userTypes": "all", "userRoles": "all",
                          "userRegistrationMethodCounts": [
                              {"authenticationMethod": "email", "userCount": 1},
                              {"authenticationMethod": "microsoftAuthenticatorPush", "userCount": 1},
                              {"authenticationMethod": "mobilePhone", "userCount": 2},
                              {"authenticationMethod": "softwareOneTimePasscode", "userCount": 1}]}},
            {"includedUserTypes": "guest", "includedUserRoles": "all",
             "expected": {"totalUserCount": 1, "userTypes": "guest", "userRoles": "all",
                          "userRegistrationMethodCounts": [
                              {"authenticationMethod": "softwareOneTimePasscode", "userCount": 1}]}}],
        "patches": [
            {"user": "carol@contoso.com", "resource": "signInPreferences",
             "body": {"userPreferredMethodForSecondaryAuthentication": "sms"},
             "expectedAfter": {"isSystemPreferredAuthenticationMethodEnabled": False,
                               "userPreferredMethodForSecondaryAuthentication": "sms"}},
            {"user": ids[1], "resource": "signInPreferences",
             "body": {"isSystemPreferredAuthenticationMethodEnabled": False,
                      "userPreferredMethodForSecondaryAuthentication": "oath"},
             "expectedAfter": {"isSystemPreferredAuthenticationMethodEnabled": False,
                               "userPreferredMethodForSecondaryAuthentication": "oath"}},
            {"user": "carol@contoso.com", "resource": "requirements", "body": {"perUserMfaState": "enabled"},
             "expectedAfter": {"perUserMfaState": "enabled"}},
            {"user": "me", "resource": "requirements", "body": {"perUserMfaState": "enabled"},
             "expectedAfter": {"perUserMfaState": "enforced"}},
            {"user": "erin@contoso.com", "resource": "signInPreferences",
             "body": {"userPreferredMethodForSecondaryAuthentication": None},
             "expectedAfter": {"isSystemPreferredAuthenticationMethodEnabled": True,
                               "userPreferredMethodForSecondaryAuthentication": None}},
        ],
        "errors": {"patchUser": "bob@contoso.com"},
    }
    return events, expected, t0


def enc_dt(t: dt.datetime) -> str:
    """How the SDK puts a datetime into a function segment: isoformat, then RFC 6570 escaping."""
    return t.astimezone(UTC).isoformat().replace(":", "%3A").replace("+", "%2B")


def sdk_wire_checks(ctx, log: list[dict], t0: dt.datetime):
    """Locks down the URLs msgraph-beta-sdk sends (docs/graph-sdk-wire.md). A failure here means
    the SDK changed, not the server."""
    lines = [e["requestline"] for e in log]
    s, e10 = enc_dt(t0), enc_dt(t0 + dt.timedelta(minutes=20))
    want = [
        f"GET /beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={s}"
        f"exclusiveIntervalEndDateTime={e10}aggregationIntervalInMinutes=@aggregationIntervalInMinutes)"
        f"?aggregationIntervalInMinutes=10 HTTP/1.1",
        f"GET /beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={s}"
        f"exclusiveIntervalEndDateTime={e10}aggregationIntervalInMinutes=@aggregationIntervalInMinutes) HTTP/1.1",
        "GET /beta/users/00000000-0000-0000-0000-000000000001/authentication/signInPreferences HTTP/1.1",
        "GET /beta/users/bob%40contoso.com/authentication/requirements HTTP/1.1",
        "GET /beta/users/dave_fabrikam.com%23EXT%23%40contoso.com/authentication/requirements HTTP/1.1",
        "GET /beta/me/authentication/requirements HTTP/1.1",
        "PATCH /beta/me/authentication/requirements HTTP/1.1",
        "GET /beta/reports/getCredentialUserRegistrationCount() HTTP/1.1",
        "GET /beta/reports/getCredentialUserRegistrationCount HTTP/1.1",
        "GET /beta/reports/authenticationMethods/userRegistrationDetails?$filter=isMfaRegistered%20eq%20true&$top=2 HTTP/1.1",
        "GET /beta/reports/authenticationMethods/userRegistrationDetails?$filter=isSsprRegistered%20eq%20true%20and%20userType%20eq%20%27member%27 HTTP/1.1",
        "GET /beta/reports/authenticationMethods/userRegistrationDetails/00000000-0000-0000-0000-000000000001 HTTP/1.1",
        "GET /beta/reports/authenticationMethods/usersRegisteredByFeature() HTTP/1.1",
        "GET /beta/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='member'includedUserRoles='admin') HTTP/1.1",
        "GET /beta/reports/authenticationMethods/usersRegisteredByMethod() HTTP/1.1",
        "GET /beta/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='guest'includedUserRoles='all') HTTP/1.1",
    ]
    for w in want:
        ctx.expect(w in lines, f"the SDK did not send: {w}")
    patch = next((x for x in log if x["requestline"].startswith("PATCH /beta/users/carol%40contoso.com/authentication/signInPreferences")), None)
    if ctx.expect(patch, "no PATCH of carol's signInPreferences seen"):
        ctx.expect(patch["body"] == '{"userPreferredMethodForSecondaryAuthentication": "sms"}', f"PATCH body {patch['body']!r}")
        h = {k.lower(): v for k, v in patch["headers"].items()}
        ctx.expect(h.get("content-type") == "application/json", f"PATCH content-type {h.get('content-type')!r}")
        ctx.expect(h.get("accept") == "application/json", f"PATCH accept {h.get('accept')!r}")
        ctx.expect(h.get("authorization") == "Bearer admin-token", f"authorization {h.get('authorization')!r}")
        ctx.expect("client-request-id" not in h, "the SDK sent a client-request-id to a non-Graph host")
    nul = next((x for x in log if x["requestline"].startswith("PATCH /beta/users/erin%40contoso.com")), None)
    if ctx.expect(nul, "no PATCH of erin seen"):
        ctx.expect(nul["body"] == '{"userPreferredMethodForSecondaryAuthentication": null}', f"null PATCH body {nul['body']!r}")
    pages = [x for x in log if "$skiptoken=" in x["requestline"]]
    ctx.expect(any({k.lower(): v for k, v in x["headers"].items()}.get("accept") == "*/*" for x in pages),
               "PageIterator requests are expected to carry 'Accept: */*'")


async def self_test(args) -> int:
    sys.path.insert(0, str(HERE))
    import stub_server

    tokens = stub_server.standard_tokens()
    ok = bad = 0

    def stub_args(base):
        return argparse.Namespace(base_url=base, token="admin-token", me_token="me-token",
                                  reader_token="reader-token", only=None, verbose=args.verbose,
                                  dump_bodies=None)

    # 1. a clean stub: every check passes, and the SDK's wire form is as documented
    events, expected, t0 = self_test_data()
    if args.write_expected:
        Path(args.write_expected).write_text(json.dumps(expected, indent=1))
    srv, state, base = stub_server.start(tokens, events)
    print(f"== self-test: clean stub at {base}")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        try:
            a = stub_args(base)
            a.dump_bodies = args.dump_bodies or tmp
            runner = await run(a, expected)
            extra = Runner(None, args.verbose)
            await extra.check("sdk wire form (docs/graph-sdk-wire.md)",
                              lambda ctx: _sync(sdk_wire_checks, ctx, state.log, t0))
        finally:
            srv.shutdown()
            srv.server_close()
        import check_csdl
        import io
        buf = io.StringIO()
        p, f = check_csdl.run(check_csdl.collect([a.dump_bodies]), check_csdl.Schema(check_csdl.DEFAULT_CSDL), buf)

        async def csdl_ok(ctx):
            ctx.expect(f == 0 and p > 0, f"check_csdl.py on the dumped bodies: {p} passed, {f} failed\n{buf.getvalue()}")
        await extra.check(f"check_csdl.py accepts all {p} dumped bodies", csdl_ok)
    print(f"   clean run: {runner.summary()}")
    ok += runner.passed + extra.passed
    bad += runner.failed + extra.failed + runner.skipped

    # 2. each fault must be noticed
    for fault, what in stub_server.FAULTS.items():
        events, expected, t0 = self_test_data()
        srv, state, base = stub_server.start(tokens, events, faults={fault})
        buf = io.StringIO()
        try:
            r = await run(stub_args(base), expected, out=buf)
        finally:
            srv.shutdown()
            srv.server_close()
        caught = r.failed > 0
        ok, bad = ok + caught, bad + (not caught)
        first = next((ln for ln in buf.getvalue().splitlines() if ln.startswith("FAIL")), "")
        print(f"{'PASS' if caught else 'FAIL'} fault '{fault}' ({what}) -> {r.failed} failing checks; first: {first[5:][:110]}")
    print(f"{ok} passed, {bad} failed")
    return 0 if bad == 0 else 1


async def _sync(fn, *a):
    fn(*a)


def main(argv=None) -> int:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog="See the module docstring for the expected-values format.")
    ap.add_argument("--base-url", default=env("MFALENS_BASE_URL"), help="e.g. http://127.0.0.1:8080/beta")
    ap.add_argument("--token", default=env("MFALENS_TOKEN"))
    ap.add_argument("--me-token", default=env("MFALENS_ME_TOKEN"))
    ap.add_argument("--reader-token", default=env("MFALENS_READER_TOKEN"))
    ap.add_argument("--expected", default=env("MFALENS_EXPECTED"), help="expected-values JSON file")
    ap.add_argument("--dump-bodies", default=env("MFALENS_DUMP_BODIES"), metavar="DIR")
    ap.add_argument("--only", help="run only checks whose name contains this text")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--self-test", action="store_true", help="run against tests/sdk/stub_server.py")
    ap.add_argument("--write-expected", metavar="FILE", help="with --self-test: also write its expected-values file")
    args = ap.parse_args(argv)
    if args.self_test:
        return asyncio.run(self_test(args))
    missing = [n for n in ("base_url", "token", "expected") if not getattr(args, n)]
    if missing:
        ap.print_usage(sys.stderr)
        print(f"missing: {', '.join('--' + m.replace('_', '-') for m in missing)}", file=sys.stderr)
        return 2
    expected = json.loads(Path(args.expected).read_text())
    runner = asyncio.run(run(args, expected))
    print(runner.summary())
    return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
