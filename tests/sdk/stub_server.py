"""A small stand-in for the mfalens Graph beta endpoints, Python stdlib only.

It exists to validate tests/sdk/conformance.py and tests/sdk/check_csdl.py without the Rust
server, and it doubles as an executable reading of docs/graph-sdk-wire.md: it parses the URLs
exactly as the official Python SDK (msgraph-beta-sdk) sends them -- including the function
segments WITHOUT commas between parameters that the SDK's URI-template library produces -- and
answers with contract-shaped bodies (shared/contract/graph-beta.md).

It is not the product: data are a fixed five-user tenant plus the sign-in events handed to it,
and only the behaviour that the conformance checks exercise is implemented.

Run alone (logs every request line to stderr):
    python3 tests/sdk/stub_server.py --port 8080 --token admin-token --me-token me-token
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

UTC = dt.timezone.utc
CONTENT_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
                "IEEE754Compatible=false;charset=utf-8")
TENANT_ID = "5b2d9b6e-6a57-4d4c-9c3a-6f0d1c0f7a11"

METRIC_FUNCTIONS = (
    "getMetricsForMfaSignInFailure",
    "getMetricsForMfaSignInSuccess",
    "getMetricsForConditionalAccessBlockedSignIn",
    "getMetricsForConditionalAccessCompliantDevicesSignInSuccess",
    "getMetricsForConditionalAccessManagedDevicesSignInSuccess",
    "getMetricsForSamlSignInSuccess",
)
METRIC_PARAMS = ("inclusiveIntervalStartDateTime", "exclusiveIntervalEndDateTime",
                 "aggregationIntervalInMinutes")
SUMMARY_PARAMS = ("includedUserTypes", "includedUserRoles")

ENUMS = {
    "userDefaultAuthenticationMethodType": {"push", "oath", "voiceMobile", "voiceAlternateMobile",
                                            "voiceOffice", "sms", "unknownFutureValue"},
    "perUserMfaState": {"disabled", "enforced", "enabled", "unknownFutureValue"},
    "includedUserTypes": {"all", "member", "guest", "unknownFutureValue"},
    "includedUserRoles": {"all", "privilegedAdmin", "admin", "user", "unknownFutureValue"},
}

# Faults make the stub wrong on purpose, so a self-test can prove the checks notice.
FAULTS = {
    "strict-commas": "function segments must separate parameters with commas (the SDK's URLs then fail)",
    "ignore-alias-query": "aggregationIntervalInMinutes given in the query string is ignored (default 15)",
    "misspelled-key": "credential counts use the documentation typo userRegistationCount",
    "string-int": "metric values are JSON strings, not numbers",
    "enum-case": "enum values are PascalCase ('Push') instead of camelCase",
    "extra-key": "signInPreferences carries an extra key 'preferredMethod'",
    "error-code": "a missing user answers 404 with code 'NotFound'",
    "relative-nextlink": "@odata.nextLink is relative, which the SDK's PageIterator refuses",
    "lenient-patch": "an unknown enum value in a PATCH is ignored and answered 204",
}


def fmt_dt(t: dt.datetime) -> str:
    """Contract format: UTC, 'Z', fraction only when non-zero."""
    t = t.astimezone(UTC)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += ("." + f"{t.microsecond:06d}").rstrip("0")
    return s + "Z"


def parse_dt(v: str) -> dt.datetime | None:
    """Edm.DateTimeOffset literal: needs 'Z' or an offset."""
    v = v.strip()
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|z|[+-]\d\d:\d\d)", v):
        return None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC)


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "BadRequest", status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status


# ---------------------------------------------------------------------------------------------
# URL parsing: the part the Rust server must get right.
# ---------------------------------------------------------------------------------------------

def split_function_segment(segment: str, declared: tuple[str, ...], strict_commas: bool = False):
    """Parses 'name(p1=v1,p2=v2)' from a raw (still percent-encoded) path segment.

    The official Python SDK sends the parameters WITHOUT separating commas, e.g.
      getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime=2026-11-01T00%3A00%3A00%2B00%3A00exclusiveIntervalEndDateTime=...aggregationIntervalInMinutes=@aggregationIntervalInMinutes)
    so parameters are found by their declared names followed by '=', with or without a comma
    before them. Text that is neither a declared 'name=' nor a value is an unknown parameter.
    Returns (function name, {declared name: raw value text (percent-decoded)}).
    """
    m = re.fullmatch(r"([A-Za-z0-9_.]+)(?:\((.*)\))?", segment, re.S)
    if not m:
        raise BadRequest(f"'{unquote(segment)}' is not a function call of the form name(param=value,...)")
    name, inner = m.group(1), m.group(2)
    params: dict[str, str] = {}
    if not inner:
        return name, params
    # Split the raw text first and decode each value afterwards, so an encoded ',' (%2C) inside
    # a value cannot split it. Names are plain ASCII, so matching them on raw text is safe.
    pieces = inner.split(",")
    if not strict_commas:
        names = "|".join(re.escape(d) for d in declared)
        # a declared name followed by '=' starts a parameter, wherever it appears
        pieces = [p for piece in pieces for p in re.split(rf"(?=(?:{names})=)", piece) if p != ""]
    for piece in pieces:
        key, eq, value = piece.partition("=")
        key, value = unquote(key).strip(), unquote(value)
        decl = next((d for d in declared if d.lower() == key.lower()), None)
        if not eq or decl is None:
            raise BadRequest(f"Unknown or malformed parameter '{unquote(piece)}' in {name}(); "
                             f"parameters are {', '.join(declared)}")
        if decl in params:
            raise BadRequest(f"Parameter '{decl}' is given more than once")
        params[decl] = value.strip()
    return name, params


def resolve_alias(value: str, query: dict[str, str], ignore_query: bool = False) -> str | None:
    """'@x' -> value of query '@x' or 'x'; None when unbound (= the default)."""
    if not value.startswith("@"):
        return value
    if ignore_query:
        return None
    bare = value[1:]
    for k, v in query.items():
        if k.lower() in (value.lower(), bare.lower()):
            return v
    return None


def parse_query(qs: str) -> dict[str, str]:
    """OData query: '&'-separated, strict percent-decoding, '+' stays '+'."""
    out: dict[str, str] = {}
    for pair in filter(None, qs.split("&")):
        k, _, v = pair.partition("=")
        out[unquote(k)] = unquote(v)
    return out


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def default_users() -> list[dict]:
    """Five users; ids are fixed so expectation files can name them."""
    def u(n, upn, name, utype, admin, methods, sysPref, pref, state, default_mfa):
        return {
            "id": f"00000000-0000-0000-0000-00000000000{n}", "userPrincipalName": upn,
            "userDisplayName": name, "userType": utype, "isAdmin": admin,
            "methodsRegistered": methods, "isSystemPreferredAuthenticationMethodEnabled": sysPref,
            "userPreferredMethodForSecondaryAuthentication": pref, "perUserMfaState": state,
            "defaultMfaMethod": default_mfa, "enabled": True,
        }
    return [
        u(1, "alice@contoso.com", "Alice Admin", "member", True,
          ["microsoftAuthenticatorPush", "mobilePhone"], True, "push", "enforced",
          "microsoftAuthenticatorPush"),
        u(2, "bob@contoso.com", "Bob", "member", False, ["mobilePhone"], False, "sms", "disabled",
          "mobilePhone"),
        u(3, "carol@contoso.com", "Carol", "member", False, [], False, None, "disabled", "none"),
        u(4, "dave_fabrikam.com#EXT#@contoso.com", "Dave (guest)", "guest", False,
          ["softwareOneTimePasscode"], False, "oath", "disabled", "softwareOneTimePasscode"),
        u(5, "erin@contoso.com", "Erin", "member", False, ["email"], True, None, "disabled", "none"),
    ]


MFA_METHODS = {"microsoftAuthenticatorPush", "mobilePhone", "softwareOneTimePasscode",
               "hardwareOneTimePasscode", "officePhone", "alternateMobilePhone", "fido2SecurityKey",
               "windowsHelloForBusiness", "microsoftAuthenticatorPasswordless"}
SSPR_METHODS = MFA_METHODS | {"email", "securityQuestion"}
PASSWORDLESS = {"fido2SecurityKey", "windowsHelloForBusiness", "microsoftAuthenticatorPasswordless"}


def registration_record(u: dict, updated: dt.datetime) -> dict:
    methods = u["methodsRegistered"]
    mfa = any(m in MFA_METHODS for m in methods)
    sspr = any(m in SSPR_METHODS for m in methods)
    pref = u["userPreferredMethodForSecondaryAuthentication"]
    return {
        "id": u["id"],
        "userPrincipalName": u["userPrincipalName"],
        "userDisplayName": u["userDisplayName"],
        "userType": u["userType"],
        "isAdmin": u["isAdmin"],
        "isMfaRegistered": mfa,
        "isMfaCapable": mfa and u["enabled"],
        "isSsprRegistered": sspr,
        "isSsprEnabled": True,
        "isSsprCapable": sspr and u["enabled"],
        "isPasswordlessCapable": any(m in PASSWORDLESS for m in methods),
        "methodsRegistered": list(methods),
        "defaultMfaMethod": u["defaultMfaMethod"],
        "systemPreferredAuthenticationMethods": (["push"] if "microsoftAuthenticatorPush" in methods
                                                 else ["sms"] if "mobilePhone" in methods else []),
        "isSystemPreferredAuthenticationMethodEnabled": u["isSystemPreferredAuthenticationMethodEnabled"],
        "userPreferredMethodForSecondaryAuthentication": pref if pref else "none",
        "lastUpdatedDateTime": fmt_dt(updated),
    }


class State:
    def __init__(self, tokens: dict[str, dict], events: list[dict] | None = None,
                 faults: set[str] | None = None, now: dt.datetime | None = None):
        self.lock = threading.Lock()
        self.tokens = tokens  # token -> {"kind": "app"|"delegated", "user": id|None, "write": bool}
        self.users = default_users()
        self.events = events or []  # {"createdDateTime": "...Z", "metrics": [function names]}
        self.faults = faults or set()
        self.updated = (now or dt.datetime.now(UTC)).replace(microsecond=0) - dt.timedelta(hours=1)
        self.log: list[dict] = []

    def find_user(self, key: str) -> dict | None:
        key = key.lower()
        return next((u for u in self.users
                     if u["id"].lower() == key or u["userPrincipalName"].lower() == key), None)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mfalens-stub/1"
    state: State  # set per server class
    quiet = True

    def log_message(self, *args):  # noqa: D401 - stdlib signature
        if not self.quiet:
            super().log_message(*args)

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: int, body: dict | None, extra_headers: dict | None = None):
        rid = str(uuid.uuid4())
        crid = self.headers.get("client-request-id") or rid
        if body is not None and "error" in body:
            body["error"]["innerError"].update({"request-id": rid, "client-request-id": crid})
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("request-id", rid)
        self.send_header("client-request-id", crid)
        self.send_header("OData-Version", "4.0")
        self.send_header("x-ms-ags-diagnostic", json.dumps({"ServerInfo": {"DataCenter": "stub",
                                                                             "Slice": "stub-python"}}))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.state.log.append({"requestline": self.requestline, "status": status,
                               "headers": dict(self.headers), "body": self._req_body})

    def _error(self, status: int, code: str, message: str, extra_headers: dict | None = None):
        now = dt.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self._send(status, {"error": {"code": code, "message": message,
                                      "innerError": {"date": now}}}, extra_headers)

    def _base(self) -> str:
        return f"http://{self.headers.get('Host', '127.0.0.1')}/beta"

    def _ok(self, context_suffix: str, payload: dict):
        body = {"@odata.context": f"{self._base()}/$metadata#{context_suffix}"}
        body.update(payload)
        self._send(200, body)

    def do_GET(self):
        self._dispatch("GET")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        n = int(self.headers.get("Content-Length") or 0)
        self._req_body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        try:
            self._route(method)
        except BadRequest as e:
            self._error(e.status, e.code, str(e))
        except Exception as e:  # pragma: no cover - a stub bug should be visible, not a hang
            self._error(500, "UnknownError", f"stub failure: {e!r}")

    # -- routing ----------------------------------------------------------------------------
    def _route(self, method: str):
        st = self.state
        parts = urlsplit(self.path)
        raw_path, query = parts.path, parse_query(parts.query)
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        principal = st.tokens.get(token) if token else None
        if principal is None:
            return self._error(401, "InvalidAuthenticationToken",
                               "Access token is empty." if not token else "Access token validation failure. Invalid audience.",
                               {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'})
        if not raw_path.startswith("/beta/"):
            raise BadRequest(f"Invalid version: {raw_path.split('/')[1] if '/' in raw_path else raw_path}")
        segs = raw_path[len("/beta/"):].split("/")

        if method == "PATCH" and not principal.get("write", True):
            return self._error(403, "Authorization_RequestDenied",
                               "Insufficient privileges to complete the operation.")

        # /reports/...
        if segs[0] == "reports" and method == "GET":
            return self._reports(segs[1:], query)
        # /users/{id}/authentication/{x} and /me/authentication/{x}
        if segs[0] == "users" and len(segs) == 4 and segs[2] == "authentication":
            user = st.find_user(unquote(segs[1]))
            if user is None:
                return self._error(404, "NotFound" if "error-code" in st.faults else "Request_ResourceNotFound",
                                   f"Resource '{unquote(segs[1])}' does not exist or one of its queried reference-property objects are not present.")
            return self._authentication(method, user, segs[3], f"users('{user['id']}')")
        if segs[0] == "me" and len(segs) == 3 and segs[1] == "authentication":
            uid = principal.get("user")
            if not uid:
                raise BadRequest("/me request is only valid with delegated authentication flow.")
            user = st.find_user(uid)
            return self._authentication(method, user, segs[2], f"users('{user['id']}')")
        raise BadRequest(f"Resource not found for the segment '{unquote(segs[0])}'.")

    def _authentication(self, method: str, user: dict, leaf: str, ctx: str):
        st = self.state
        if leaf not in ("signInPreferences", "requirements"):
            raise BadRequest(f"Resource not found for the segment '{leaf}'.")
        if method == "GET":
            with st.lock:
                if leaf == "signInPreferences":
                    pref = user["userPreferredMethodForSecondaryAuthentication"]
                    if pref and "enum-case" in st.faults:
                        pref = pref[0].upper() + pref[1:]
                    payload = {"isSystemPreferredAuthenticationMethodEnabled":
                               user["isSystemPreferredAuthenticationMethodEnabled"],
                               "userPreferredMethodForSecondaryAuthentication": pref}
                    if "extra-key" in st.faults:
                        payload["preferredMethod"] = pref
                else:
                    payload = {"perUserMfaState": user["perUserMfaState"]}
            return self._ok(f"{ctx}/authentication/{leaf}", payload)
        if method != "PATCH":
            raise BadRequest(f"Method {method} is not allowed on {leaf}.", status=405, code="BadRequest")
        try:
            body = json.loads(self._req_body or "null")
        except ValueError as e:
            raise BadRequest(f"The request body is not valid JSON: {e}")
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        allowed = ({"isSystemPreferredAuthenticationMethodEnabled": "bool",
                    "userPreferredMethodForSecondaryAuthentication": "userDefaultAuthenticationMethodType"}
                   if leaf == "signInPreferences" else {"perUserMfaState": "perUserMfaState"})
        changes = {}
        for k, v in body.items():
            if k == "@odata.type":
                continue
            if k not in allowed:
                raise BadRequest(f"Property '{k}' does not exist on type 'microsoft.graph.{'signInPreferences' if leaf == 'signInPreferences' else 'strongAuthenticationRequirements'}'.")
            kind = allowed[k]
            if kind == "bool":
                if not isinstance(v, bool):
                    raise BadRequest(f"Property '{k}' must be a JSON boolean; got {json.dumps(v)}.")
            elif v is not None and v not in ENUMS[kind]:
                if "lenient-patch" in st.faults:
                    continue
                raise BadRequest(f"Requested value '{v}' is not a member of the enum type "
                                 f"'microsoft.graph.{kind}' for property '{k}'.")
            elif v is None and leaf == "requirements":
                raise BadRequest(f"Property '{k}' cannot be null.")
            changes[k] = v
        with st.lock:
            for k, v in changes.items():
                if k == "perUserMfaState" and v == "enabled" and user["methodsRegistered"]:
                    v = "enforced"
                user[k] = v
        self._send(204, None)

    def _reports(self, segs: list[str], query: dict[str, str]):
        if len(segs) == 2 and segs[0] == "serviceActivity":
            return self._metrics(segs[1], query)
        if len(segs) == 1 and re.fullmatch(r"getCredentialUserRegistrationCount(\(\))?", segs[0]):
            return self._credential_counts()
        if segs and segs[0] == "authenticationMethods":
            rest = segs[1:]
            if rest and rest[0] == "userRegistrationDetails":
                if len(rest) == 1:
                    return self._registration_list(query)
                if len(rest) == 2:
                    rec = self._registration_records()
                    key = unquote(rest[1]).lower()
                    hit = next((r for r in rec if r["id"].lower() == key
                                or r["userPrincipalName"].lower() == key), None)
                    if hit is None:
                        return self._error(404, "Request_ResourceNotFound",
                                           f"Resource '{unquote(rest[1])}' does not exist.")
                    return self._ok("reports/authenticationMethods/userRegistrationDetails/$entity", hit)
            if len(rest) == 1 and rest[0].startswith(("usersRegisteredByFeature", "usersRegisteredByMethod")):
                return self._summary(rest[0], query)
        raise BadRequest(f"Resource not found for the segment '{unquote('/'.join(segs))}'.")

    # -- metrics ----------------------------------------------------------------------------
    def _metrics(self, segment: str, query: dict[str, str]):
        st = self.state
        name, params = split_function_segment(segment, METRIC_PARAMS, "strict-commas" in st.faults)
        if name not in METRIC_FUNCTIONS:
            raise BadRequest(f"Resource not found for the segment '{name}'.")
        bare = "(" not in segment
        if bare:  # parameters as query options
            params = {d: v for d in METRIC_PARAMS for k, v in query.items() if k.lstrip("@").lower() == d.lower()}
        vals = {k: resolve_alias(v, query, "ignore-alias-query" in st.faults) for k, v in params.items()}
        for req in METRIC_PARAMS[:2]:
            if vals.get(req) is None:
                raise BadRequest(f"Required parameter '{req}' is missing.")
        start = parse_dt(vals[METRIC_PARAMS[0]])
        end = parse_dt(vals[METRIC_PARAMS[1]])
        if start is None:
            raise BadRequest(f"'{vals[METRIC_PARAMS[0]]}' is not a valid Edm.DateTimeOffset for inclusiveIntervalStartDateTime.")
        if end is None:
            raise BadRequest(f"'{vals[METRIC_PARAMS[1]]}' is not a valid Edm.DateTimeOffset for exclusiveIntervalEndDateTime.")
        iv_raw = vals.get(METRIC_PARAMS[2])
        if iv_raw is None or iv_raw.lower() == "null":
            interval = 15
        elif re.fullmatch(r"[+-]?\d+", iv_raw):
            interval = int(iv_raw)
        else:
            raise BadRequest(f"'{iv_raw}' is not a valid Edm.Int32 for aggregationIntervalInMinutes.")
        if interval not in (5, 10, 15, 30):
            raise BadRequest(f"aggregationIntervalInMinutes must be one of 5, 10, 15 or 30; {interval} is not allowed.")
        now = dt.datetime.now(UTC)
        if start < now - dt.timedelta(days=30):
            raise BadRequest("inclusiveIntervalStartDateTime must not be earlier than 30 days before now.")
        if end <= start:
            raise BadRequest("exclusiveIntervalEndDateTime must be after inclusiveIntervalStartDateTime.")
        series = []
        t = start
        step = dt.timedelta(minutes=interval)
        while t < end:
            nxt = min(t + step, end)
            n = sum(1 for e in st.events if name in e["metrics"] and t <= parse_dt(e["createdDateTime"]) < nxt)
            series.append({"intervalStartDateTime": fmt_dt(t), "value": str(n) if "string-int" in st.faults else n})
            t = nxt
        self._ok("Collection(microsoft.graph.serviceActivityValueMetric)", {"value": series})

    # -- registration -----------------------------------------------------------------------
    def _registration_records(self) -> list[dict]:
        with self.state.lock:
            return [registration_record(u, self.state.updated) for u in self.state.users]

    def _credential_counts(self):
        st = self.state
        with st.lock:
            users = [u for u in st.users if u["enabled"]]
            recs = [registration_record(u, st.updated) for u in users]
        counts = {
            "registered": sum(r["isSsprRegistered"] for r in recs),
            "enabled": sum(r["isSsprEnabled"] for r in recs),
            "capable": sum(r["isSsprCapable"] for r in recs),
            "mfaRegistered": sum(r["isMfaRegistered"] for r in recs),
        }
        ckey, skey = (("userRegistationCount", "userRegistrationStatus") if "misspelled-key" in st.faults
                      else ("registrationCount", "registrationStatus"))
        self._ok("Collection(microsoft.graph.credentialUserRegistrationCount)", {"value": [{
            "id": TENANT_ID, "totalUserCount": len(users),
            "userRegistrationCounts": [{skey: k, ckey: v} for k, v in counts.items()],
        }]})

    FILTERABLE = ("isAdmin", "isMfaRegistered", "isMfaCapable", "isSsprRegistered", "isSsprEnabled",
                  "isSsprCapable", "isPasswordlessCapable", "isSystemPreferredAuthenticationMethodEnabled")

    def _filter(self, expr: str):
        clauses = [c.strip() for c in re.split(r"\s+and\s+", expr.strip()) if c.strip()]
        preds = []
        for c in clauses:
            m = re.fullmatch(r"(\w+)\s+eq\s+(true|false|'[^']*')", c)
            if not m or (m.group(1) not in self.FILTERABLE and m.group(1) != "userType"):
                raise BadRequest(f"Invalid filter clause: '{c}'. Supported: <boolean property> eq true|false, userType eq 'member'|'guest', joined by 'and'.")
            prop, lit = m.group(1), m.group(2)
            want = lit == "true" if lit in ("true", "false") else lit.strip("'")
            preds.append((prop, want))
        return lambda r: all(r[p] == w for p, w in preds)

    def _registration_list(self, query: dict[str, str]):
        st = self.state
        unknown = [k for k in query if k.startswith("$") and k not in ("$filter", "$top", "$skiptoken")]
        if unknown:
            raise BadRequest(f"Query option '{unknown[0]}' is not supported here.")
        offset = 0
        flt, top = query.get("$filter"), query.get("$top")
        if "$skiptoken" in query:
            try:
                tok = json.loads(base64.urlsafe_b64decode(query["$skiptoken"] + "==").decode())
                offset, flt, top = tok["o"], tok["f"], tok["t"]
            except Exception:
                raise BadRequest("Invalid $skiptoken.")
        recs = self._registration_records()
        if flt:
            recs = [r for r in recs if self._filter(flt)(r)]
        try:
            size = int(top) if top is not None else 100
        except ValueError:
            raise BadRequest(f"Invalid $top value '{top}'.")
        if not 1 <= size <= 999:
            raise BadRequest("$top must be between 1 and 999.")
        page = recs[offset:offset + size]
        payload: dict = {"value": page}
        if offset + size < len(recs):
            tok = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "f": flt, "t": top}).encode()).decode().rstrip("=")
            link = f"/reports/authenticationMethods/userRegistrationDetails?$top={size}&$skiptoken={tok}"
            payload["@odata.nextLink"] = link if "relative-nextlink" in st.faults else self._base() + link
        self._ok("reports/authenticationMethods/userRegistrationDetails", payload)

    def _summary(self, segment: str, query: dict[str, str]):
        name, params = split_function_segment(segment, SUMMARY_PARAMS, "strict-commas" in self.state.faults)
        vals = {}
        for p in SUMMARY_PARAMS:
            v = resolve_alias(params.get(p, "'all'"), query) or "'all'"
            if not (v.startswith("'") and v.endswith("'") and len(v) >= 2):
                raise BadRequest(f"Parameter '{p}' must be a quoted enum literal, e.g. {p}='all'; got {v}.")
            v = v[1:-1]
            kind = "includedUserTypes" if p == "includedUserTypes" else "includedUserRoles"
            if v not in ENUMS[kind]:
                raise BadRequest(f"'{v}' is not a member of microsoft.graph.{kind}.")
            vals[p] = v
        recs = self._registration_records()
        if vals["includedUserTypes"] in ("member", "guest"):
            recs = [r for r in recs if r["userType"] == vals["includedUserTypes"]]
        if vals["includedUserRoles"] in ("admin", "privilegedAdmin"):
            recs = [r for r in recs if r["isAdmin"]]
        elif vals["includedUserRoles"] == "user":
            recs = [r for r in recs if not r["isAdmin"]]
        common = {"totalUserCount": len(recs), "userTypes": vals["includedUserTypes"],
                  "userRoles": vals["includedUserRoles"]}
        if name == "usersRegisteredByFeature":
            feats = {"ssprRegistered": "isSsprRegistered", "ssprEnabled": "isSsprEnabled",
                     "ssprCapable": "isSsprCapable", "passwordlessCapable": "isPasswordlessCapable",
                     "mfaCapable": "isMfaCapable"}
            common["userRegistrationFeatureCounts"] = [
                {"feature": f, "userCount": sum(r[k] for r in recs)} for f, k in feats.items()]
            return self._ok("microsoft.graph.userRegistrationFeatureSummary", common)
        if name == "usersRegisteredByMethod":
            methods = sorted({m for r in recs for m in r["methodsRegistered"]})
            common["userRegistrationMethodCounts"] = [
                {"authenticationMethod": m, "userCount": sum(m in r["methodsRegistered"] for r in recs)}
                for m in methods]
            return self._ok("microsoft.graph.userRegistrationMethodSummary", common)
        raise BadRequest(f"Resource not found for the segment '{name}'.")


def start(tokens: dict[str, dict], events: list[dict] | None = None, faults=None,
          host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
    """Starts the stub on a thread; returns (server, state, base_url)."""
    state = State(tokens, events, set(faults or ()))
    handler = type("BoundHandler", (Handler,), {"state": state, "quiet": quiet})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, state, f"http://{host}:{srv.server_address[1]}/beta"


def standard_tokens(admin="admin-token", me="me-token", reader="reader-token") -> dict[str, dict]:
    return {admin: {"kind": "app", "user": None, "write": True},
            me: {"kind": "delegated", "user": "00000000-0000-0000-0000-000000000002", "write": True},
            reader: {"kind": "app", "user": None, "write": False}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--token", default="admin-token")
    ap.add_argument("--me-token", default="me-token")
    ap.add_argument("--reader-token", default="reader-token")
    ap.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    a = ap.parse_args()
    srv, _, base = start(standard_tokens(a.token, a.me_token, a.reader_token), faults=a.fault,
                         port=a.port, quiet=False)
    print(f"stub serving {base}", file=sys.stderr)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.shutdown()


if __name__ == "__main__":
    main()
