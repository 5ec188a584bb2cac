#!/usr/bin/env python3
"""Checks Graph JSON response bodies against the CSDL in shared/conformance/graph-beta-mfa-csdl.xml:
every property emitted must be declared on the body's type (or a base type), every enum value
must be a member of the declared enum, JSON types must match the Edm types, and properties
declared Nullable="false" must not be null. Python stdlib only.

Usage
-----
    python3 tests/sdk/check_csdl.py [--csdl PATH] [--no-supplement] BODY ...
    python3 tests/sdk/check_csdl.py --self-test

BODY is a JSON file, a directory of them, or TYPE=FILE. The type of each body comes from, in
order: TYPE= given on the command line; manifest.json next to the file (as written by
`conformance.py --dump-bodies DIR`); the body's @odata.context; 'error' for a Graph error
envelope. TYPE is a type name ('signInPreferences', 'microsoft.graph.signInPreferences') or
'Collection(NAME)' for a {"value": [...]} body, or 'error'. When both the manifest and
@odata.context name a type, they must agree.

Types the shared CSDL does not carry (serviceActivityValueMetric, userRegistrationDetails, the
registration summaries and their enums, entity) come from SUPPLEMENT below, unless
--no-supplement is given, in which case a body of such a type fails as 'type not in CSDL'.

The last line is 'N passed, M failed' (one per body); exit status 1 if any failed, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CSDL = HERE.parent.parent.parent / "shared" / "conformance" / "graph-beta-mfa-csdl.xml"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

# Facts about types absent from the shared CSDL fragment, re-expressed (not copied) from the
# Microsoft Graph beta metadata (msgraph-metadata schemas/beta-USNat.csdl at commit f54f11b6, the
# commit the shared fragment cites) and, for serviceActivityValueMetric, from the Graph docs page
# of that resource (value: Int64) and the SDK model. Property: (Edm type, nullable).
SUPPLEMENT = {
    "enums": {
        "defaultMfaMethodType": ["none", "mobilePhone", "alternateMobilePhone", "officePhone",
                                 "microsoftAuthenticatorPush", "softwareOneTimePasscode", "unknownFutureValue"],
        "userDefaultAuthenticationMethod": ["push", "oath", "voiceMobile", "voiceAlternateMobile",
                                            "voiceOffice", "sms", "none", "unknownFutureValue"],
    },
    "types": {
        "entity": {"base": None, "props": {"id": ("Edm.String", False)}},
        "serviceActivityValueMetric": {"base": None, "props": {
            "intervalStartDateTime": ("Edm.DateTimeOffset", False), "value": ("Edm.Int64", False)}},
        "userRegistrationDetails": {"base": "entity", "props": {
            "defaultMfaMethod": ("graph.defaultMfaMethodType", True),
            "isAdmin": ("Edm.Boolean", True),
            "isMfaCapable": ("Edm.Boolean", False),
            "isMfaRegistered": ("Edm.Boolean", False),
            "isPasswordlessCapable": ("Edm.Boolean", False),
            "isSsprCapable": ("Edm.Boolean", False),
            "isSsprEnabled": ("Edm.Boolean", False),
            "isSsprRegistered": ("Edm.Boolean", False),
            "isSystemPreferredAuthenticationMethodEnabled": ("Edm.Boolean", True),
            "lastUpdatedDateTime": ("Edm.DateTimeOffset", False),
            "methodsRegistered": ("Collection(Edm.String)", True),
            "systemPreferredAuthenticationMethods": ("Collection(Edm.String)", True),
            "userDisplayName": ("Edm.String", False),
            "userPreferredMethodForSecondaryAuthentication": ("graph.userDefaultAuthenticationMethod", True),
            "userPrincipalName": ("Edm.String", False),
            "userType": ("graph.signInUserType", True)}},
        "userRegistrationFeatureCount": {"base": None, "props": {
            "feature": ("graph.authenticationMethodFeature", False), "userCount": ("Edm.Int64", False)}},
        "userRegistrationFeatureSummary": {"base": None, "props": {
            "totalUserCount": ("Edm.Int64", False),
            "userRegistrationFeatureCounts": ("Collection(graph.userRegistrationFeatureCount)", False),
            "userRoles": ("graph.includedUserRoles", True), "userTypes": ("graph.includedUserTypes", True)}},
        "userRegistrationMethodCount": {"base": None, "props": {
            "authenticationMethod": ("Edm.String", False), "userCount": ("Edm.Int64", False)}},
        "userRegistrationMethodSummary": {"base": None, "props": {
            "totalUserCount": ("Edm.Int64", False),
            "userRegistrationMethodCounts": ("Collection(graph.userRegistrationMethodCount)", False),
            "userRoles": ("graph.includedUserRoles", True), "userTypes": ("graph.includedUserTypes", True)}},
    },
}

# @odata.context path (after '$metadata#') -> type spec, for the resources mfalens serves.
CONTEXT_RULES = [
    (re.compile(r"^Collection\((?:microsoft\.graph\.)?(\w+)\)$"), lambda m: f"Collection({m.group(1)})"),
    (re.compile(r"^(?:microsoft\.graph\.)(\w+)(?:/\$entity)?$"), lambda m: m.group(1)),
    (re.compile(r"^(?:users\('[^']*'\)|me)/authentication/signInPreferences$"), lambda m: "signInPreferences"),
    (re.compile(r"^(?:users\('[^']*'\)|me)/authentication/requirements$"), lambda m: "strongAuthenticationRequirements"),
    (re.compile(r"^reports/authenticationMethods/userRegistrationDetails$"), lambda m: "Collection(userRegistrationDetails)"),
    (re.compile(r"^reports/authenticationMethods/userRegistrationDetails(?:/\$entity|\('[^']*'\))$"),
     lambda m: "userRegistrationDetails"),
]

INT_RANGES = {"Edm.Int32": (-2**31, 2**31 - 1), "Edm.Int64": (-2**63, 2**63 - 1),
              "Edm.Int16": (-2**15, 2**15 - 1), "Edm.Byte": (0, 255), "Edm.SByte": (-128, 127)}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
INNER_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


class Schema:
    def __init__(self, csdl_path: Path, supplement: bool = True):
        self.enums: dict[str, list[str]] = {}
        self.types: dict[str, dict] = {}
        self.origin: dict[str, str] = {}
        root = ET.parse(csdl_path).getroot()
        for el in root.iter():
            tag = el.tag.replace(EDM, "")
            if tag == "EnumType":
                self.enums[el.get("Name")] = [m.get("Name") for m in el.findall(f"{EDM}Member")]
                self.origin[el.get("Name")] = "csdl"
            elif tag in ("ComplexType", "EntityType"):
                props = {p.get("Name"): (p.get("Type"), p.get("Nullable", "true") != "false")
                         for p in el.findall(f"{EDM}Property")}
                navs = {p.get("Name") for p in el.findall(f"{EDM}NavigationProperty")}
                self.types[el.get("Name")] = {"base": _local(el.get("BaseType")), "props": props, "navs": navs}
                self.origin[el.get("Name")] = "csdl"
        if supplement:
            for n, members in SUPPLEMENT["enums"].items():
                if n not in self.enums:
                    self.enums[n], self.origin[n] = list(members), "supplement"
            for n, t in SUPPLEMENT["types"].items():
                if n not in self.types:
                    self.types[n] = {"base": t["base"], "props": dict(t["props"]), "navs": set()}
                    self.origin[n] = "supplement"

    def all_props(self, name: str) -> dict | None:
        if name not in self.types:
            return None
        out: dict = {}
        seen = set()
        while name and name not in seen:
            seen.add(name)
            t = self.types.get(name)
            if t is None:
                out.setdefault("__missing_base__", name)
                break
            for k, v in t["props"].items():
                out.setdefault(k, v)
            name = t["base"]
        return out


def _local(type_name: str | None) -> str | None:
    if not type_name:
        return None
    for prefix in ("graph.", "microsoft.graph."):
        if type_name.startswith(prefix):
            return type_name[len(prefix):]
    return type_name


def normalize_spec(spec: str) -> str:
    spec = spec.strip()
    m = re.fullmatch(r"Collection\((.+)\)", spec)
    if m:
        return f"Collection({_local(m.group(1))})"
    return _local(spec) or spec


def type_from_context(ctx: str) -> str | None:
    if not isinstance(ctx, str) or "$metadata#" not in ctx:
        return None
    frag = ctx.split("$metadata#", 1)[1]
    for rx, fn in CONTEXT_RULES:
        m = rx.match(frag)
        if m:
            return fn(m)
    return None


class Checker:
    def __init__(self, schema: Schema):
        self.s = schema

    def check_body(self, body, spec: str) -> list[str]:
        errs: list[str] = []
        if spec == "error":
            self._check_error(body, errs)
            return errs
        if not isinstance(body, dict):
            return ["body is not a JSON object"]
        self._check_annotations(body, errs, "$", top=True)
        m = re.fullmatch(r"Collection\((\w+)\)", spec)
        if m:
            extra = [k for k in body if not k.startswith("@odata.") and k != "value"]
            if extra:
                errs.append(f"$: a collection body has only 'value' and @odata annotations; also found {extra}")
            if not isinstance(body.get("value"), list):
                errs.append("$.value: missing or not an array")
            else:
                for i, item in enumerate(body["value"]):
                    self.check_value(item, f"graph.{m.group(1)}", False, f"$.value[{i}]", errs)
        else:
            self.check_object(body, spec, "$", errs, top=True)
        return errs

    def _check_annotations(self, obj: dict, errs, where, top=False):
        for k, v in obj.items():
            if not k.startswith("@") and "@" not in k:
                continue
            if k == "@odata.context":
                if not top:
                    errs.append(f"{where}: @odata.context is only expected at the top level")
                elif not isinstance(v, str) or "$metadata#" not in v:
                    errs.append(f"{where}.@odata.context: not a metadata URL: {v!r}")
            elif k == "@odata.nextLink":
                if not (isinstance(v, str) and re.match(r"^https?://", v)):
                    errs.append(f"{where}.@odata.nextLink: must be an absolute URL: {v!r}")
            elif k == "@odata.count":
                if isinstance(v, bool) or not isinstance(v, int):
                    errs.append(f"{where}.@odata.count: must be an integer: {v!r}")
            elif k in ("@odata.type", "@odata.id", "@odata.etag", "@odata.deltaLink"):
                pass
            else:
                errs.append(f"{where}: unexpected annotation '{k}'")

    def check_object(self, obj: dict, type_name: str, where: str, errs: list[str], top=False):
        props = self.s.all_props(type_name)
        if props is None:
            errs.append(f"{where}: type '{type_name}' is not in the CSDL")
            return
        if "__missing_base__" in props:
            errs.append(f"{where}: base type '{props.pop('__missing_base__')}' of '{type_name}' is not in the CSDL")
        if not top:
            self._check_annotations(obj, errs, where)
        odt = obj.get("@odata.type")
        if odt is not None and _local(str(odt).lstrip("#")) != type_name:
            # a derived type would be fine, if the CSDL knows it derives from this one
            derived = _local(str(odt).lstrip("#"))
            chain, t = [], derived
            while t and t not in chain:
                chain.append(t)
                t = (self.s.types.get(t) or {}).get("base")
            if type_name not in chain:
                errs.append(f"{where}.@odata.type: {odt!r} is not '#microsoft.graph.{type_name}' or a type derived from it")
        navs = self.s.types.get(type_name, {}).get("navs", set())
        for k, v in obj.items():
            if k.startswith("@") or "@" in k:
                continue
            if k not in props:
                what = "a navigation property (not expected inline)" if k in navs else "not declared"
                errs.append(f"{where}: property '{k}' is {what} on '{type_name}'"
                            f" (declared: {sorted(props)})")
                continue
            edm_type, nullable = props[k]
            self.check_value(v, edm_type, nullable, f"{where}.{k}", errs)

    def check_value(self, v, edm_type: str, nullable: bool, where: str, errs: list[str]):
        m = re.fullmatch(r"Collection\((.+)\)", edm_type)
        if m:
            if v is None:
                errs.append(f"{where}: a collection is never null in OData JSON (use [])")
            elif not isinstance(v, list):
                errs.append(f"{where}: expected an array ({edm_type}), got {json.dumps(v)[:80]}")
            else:
                for i, x in enumerate(v):
                    self.check_value(x, m.group(1), False, f"{where}[{i}]", errs)
            return
        if v is None:
            if not nullable:
                errs.append(f"{where}: null, but the CSDL says Nullable=\"false\"")
            return
        if edm_type == "Edm.Boolean":
            if not isinstance(v, bool):
                errs.append(f"{where}: expected a JSON boolean, got {json.dumps(v)}")
        elif edm_type in INT_RANGES:
            lo, hi = INT_RANGES[edm_type]
            if isinstance(v, bool) or not isinstance(v, int):
                errs.append(f"{where}: expected a JSON integer ({edm_type}), got {json.dumps(v)}")
            elif not lo <= v <= hi:
                errs.append(f"{where}: {v} is out of range for {edm_type}")
        elif edm_type in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                errs.append(f"{where}: expected a JSON number ({edm_type}), got {json.dumps(v)}")
        elif edm_type == "Edm.String":
            if not isinstance(v, str):
                errs.append(f"{where}: expected a JSON string, got {json.dumps(v)}")
        elif edm_type == "Edm.DateTimeOffset":
            if not isinstance(v, str) or not DATETIME.match(v):
                errs.append(f"{where}: expected an ISO 8601 date-time with zone, got {json.dumps(v)}")
        elif edm_type == "Edm.Guid":
            if not isinstance(v, str) or not GUID.match(v):
                errs.append(f"{where}: expected a GUID string, got {json.dumps(v)}")
        elif edm_type.startswith("Edm."):
            if not isinstance(v, (str, int, float, bool)):
                errs.append(f"{where}: unexpected JSON for {edm_type}: {json.dumps(v)[:80]}")
        else:
            name = _local(edm_type)
            if name in self.s.enums:
                if not isinstance(v, str):
                    errs.append(f"{where}: enum {name} expects a JSON string, got {json.dumps(v)}")
                elif v not in self.s.enums[name]:
                    errs.append(f"{where}: '{v}' is not a member of {name} {self.s.enums[name]}")
            elif name in self.s.types:
                if not isinstance(v, dict):
                    errs.append(f"{where}: expected an object ({name}), got {json.dumps(v)[:80]}")
                else:
                    self.check_object(v, name, where, errs)
            else:
                errs.append(f"{where}: type '{edm_type}' is not in the CSDL")

    @staticmethod
    def _check_error(body, errs):
        if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
            errs.append("error body must be exactly {\"error\": {...}}")
            return
        e = body["error"]
        extra = set(e) - {"code", "message", "innerError", "details", "target"}
        if extra:
            errs.append(f"error: unexpected keys {sorted(extra)}")
        for k in ("code", "message"):
            if not isinstance(e.get(k), str) or not e.get(k):
                errs.append(f"error.{k}: missing or not a non-empty string")
        inner = e.get("innerError")
        if not isinstance(inner, dict):
            errs.append("error.innerError: missing")
            return
        if not (isinstance(inner.get("date"), str) and INNER_DATE.match(inner["date"])):
            errs.append(f"error.innerError.date: {inner.get('date')!r} is not like 2026-11-23T14:28:30")
        for k in ("request-id", "client-request-id"):
            if not isinstance(inner.get(k), str) or not inner.get(k):
                errs.append(f"error.innerError.{k}: missing")
        extra = set(inner) - {"date", "request-id", "client-request-id", "@odata.type"}
        if extra:
            errs.append(f"error.innerError: unexpected keys {sorted(extra)}")


def collect(args: list[str]) -> list[tuple[Path, str | None]]:
    out = []
    for a in args:
        spec = None
        if "=" in a and not Path(a).exists():
            spec, a = a.split("=", 1)
        p = Path(a)
        if p.is_dir():
            out += [(f, spec) for f in sorted(p.glob("*.json")) if f.name != "manifest.json"]
        else:
            out.append((p, spec))
    return out


def resolve_type(path: Path, body, given: str | None, errs: list[str]) -> str | None:
    manifest_spec = None
    mf = path.parent / "manifest.json"
    if mf.exists():
        try:
            manifest_spec = json.loads(mf.read_text()).get(path.name)
        except ValueError:
            errs.append(f"{mf}: not JSON")
    ctx_spec = type_from_context(body.get("@odata.context")) if isinstance(body, dict) else None
    spec = given or manifest_spec
    if spec and normalize_spec(spec) != "error" and ctx_spec and normalize_spec(spec) != ctx_spec:
        errs.append(f"@odata.context says {ctx_spec}, but the body is a {normalize_spec(spec)} "
                    f"({body.get('@odata.context')})")
    if isinstance(body, dict) and "@odata.context" in body and ctx_spec is None and not (spec and normalize_spec(spec) == "error"):
        errs.append(f"@odata.context {body['@odata.context']!r} names no type this checker knows")
    spec = spec or ctx_spec
    if spec is None and isinstance(body, dict) and "error" in body:
        spec = "error"
    return normalize_spec(spec) if spec else None


def run(paths: list[tuple[Path, str | None]], schema: Schema, out=sys.stdout) -> tuple[int, int]:
    checker = Checker(schema)
    passed = failed = 0
    for path, given in paths:
        errs: list[str] = []
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            body, spec = None, None
            errs.append(f"cannot read JSON: {e}")
        else:
            spec = resolve_type(path, body, given, errs)
            if spec is None:
                errs.append("cannot tell the body's type (give TYPE=FILE)")
            else:
                errs += checker.check_body(body, spec)
        if errs:
            failed += 1
            print(f"FAIL {path} ({spec})", file=out)
            for e in errs:
                print(f"     - {e}", file=out)
        else:
            passed += 1
            print(f"PASS {path} ({spec})", file=out)
    return passed, failed


# ---------------------------------------------------------------------------------------------
# self-test: bodies from tests/sdk/stub_server.py (clean and with faults) plus hand-made ones
# ---------------------------------------------------------------------------------------------

def self_test(csdl: Path) -> int:
    import datetime as dt
    import io
    import urllib.error
    import urllib.request
    sys.path.insert(0, str(HERE))
    import stub_server

    schema = Schema(csdl)
    ok = bad = 0

    def verdict(cond, what):
        nonlocal ok, bad
        ok, bad = ok + bool(cond), bad + (not cond)
        print(f"{'PASS' if cond else 'FAIL'} {what}")

    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    s = now.isoformat().replace(":", "%3A").replace("+", "%2B")
    e = (now + dt.timedelta(minutes=20)).isoformat().replace(":", "%3A").replace("+", "%2B")
    urls = {  # path -> type the manifest will claim
        f"/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={s}"
        f"exclusiveIntervalEndDateTime={e}aggregationIntervalInMinutes=@aggregationIntervalInMinutes)"
        f"?aggregationIntervalInMinutes=10": "Collection(serviceActivityValueMetric)",
        "/users/alice%40contoso.com/authentication/signInPreferences": "signInPreferences",
        "/users/carol%40contoso.com/authentication/signInPreferences": "signInPreferences",
        "/users/alice%40contoso.com/authentication/requirements": "strongAuthenticationRequirements",
        "/me/authentication/requirements": "strongAuthenticationRequirements",
        "/reports/getCredentialUserRegistrationCount()": "Collection(credentialUserRegistrationCount)",
        "/reports/authenticationMethods/userRegistrationDetails?$top=2": "Collection(userRegistrationDetails)",
        "/reports/authenticationMethods/userRegistrationDetails/00000000-0000-0000-0000-000000000001": "userRegistrationDetails",
        "/reports/authenticationMethods/usersRegisteredByFeature()": "userRegistrationFeatureSummary",
        "/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='all'includedUserRoles='all')": "userRegistrationMethodSummary",
        "/users/nobody%40contoso.com/authentication/requirements": "error",
    }

    def fetch_all(faults, directory: Path):
        srv, _, base = stub_server.start(stub_server.standard_tokens(), [], faults=faults)
        manifest = {}
        try:
            for i, (path, typ) in enumerate(urls.items()):
                req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + ("me-token" if path.startswith("/me") else "admin-token")})
                try:
                    body = urllib.request.urlopen(req, timeout=10).read()
                except urllib.error.HTTPError as err:
                    body = err.read()
                name = f"{i:02d}.json"
                (directory / name).write_bytes(body)
                manifest[name] = typ
        finally:
            srv.shutdown()
            srv.server_close()
        (directory / "manifest.json").write_text(json.dumps(manifest))

    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "clean"
        clean.mkdir()
        fetch_all(set(), clean)
        buf = io.StringIO()
        p, f = run(collect([str(clean)]), schema, buf)
        verdict(f == 0 and p == len(urls), f"clean stub bodies: {p} passed, {f} failed" + ("" if f == 0 else "\n" + buf.getvalue()))
        for fault in ("misspelled-key", "string-int", "enum-case", "extra-key"):
            d = Path(tmp) / fault
            d.mkdir()
            fetch_all({fault}, d)
            buf = io.StringIO()
            p, f = run(collect([str(d)]), schema, buf)
            first = next((ln.strip() for ln in buf.getvalue().splitlines() if ln.strip().startswith("- ")), "")
            verdict(f > 0, f"fault '{fault}' noticed in {f} bodies; first: {first[:120]}")
        # hand-made bodies, each wrong in one way
        base = "http://127.0.0.1/beta/$metadata#"
        cases = {
            "unknown property": ("signInPreferences", {"@odata.context": base + "users('x')/authentication/signInPreferences",
                                                       "isSystemPreferredAuthenticationMethodEnabled": True, "preferredMethod": "push"}),
            "enum not a member": ("strongAuthenticationRequirements", {"perUserMfaState": "Enforced"}),
            "non-nullable null": ("Collection(credentialUserRegistrationCount)", {"value": [{"id": "t", "totalUserCount": None, "userRegistrationCounts": []}]}),
            "Int64 as string": ("userRegistrationFeatureSummary", {"totalUserCount": "5", "userRegistrationFeatureCounts": []}),
            "context disagrees": ("signInPreferences", {"@odata.context": base + "users('x')/authentication/requirements", "perUserMfaState": "enabled"}),
            "unregistered status enum": ("Collection(credentialUserRegistrationCount)", {"value": [{"id": "t", "totalUserCount": 1, "userRegistrationCounts": [{"registrationStatus": "ssprRegistered", "registrationCount": 1}]}]}),
            "error with zone in date": ("error", {"error": {"code": "BadRequest", "message": "m", "innerError": {"date": "2026-11-23T14:28:30Z", "request-id": "a", "client-request-id": "b"}}}),
            "relative nextLink": ("Collection(userRegistrationDetails)", {"value": [], "@odata.nextLink": "/reports?$skiptoken=1"}),
            "datetime without zone": ("Collection(serviceActivityValueMetric)", {"value": [{"intervalStartDateTime": "2026-11-01T00:00:00", "value": 1}]}),
        }
        for what, (typ, body) in cases.items():
            fp = Path(tmp) / "case.json"
            fp.write_text(json.dumps(body))
            buf = io.StringIO()
            p, f = run([(fp, typ)], schema, buf)
            verdict(f == 1, f"hand-made '{what}' rejected" + ("" if f else " -- NOT rejected"))
        # without the supplement, types absent from the shared CSDL are reported, not waved through
        buf = io.StringIO()
        p, f = run(collect([str(clean)]), Schema(csdl, supplement=False), buf)
        verdict(f > 0, f"--no-supplement: {f} bodies of types outside the shared CSDL reported")
    print(f"{ok} passed, {bad} failed")
    return 0 if bad == 0 else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bodies", nargs="*", help="JSON files, directories, or TYPE=FILE")
    ap.add_argument("--csdl", type=Path, default=DEFAULT_CSDL)
    ap.add_argument("--no-supplement", action="store_true", help="only the shared CSDL's types")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args(argv)
    if not a.csdl.exists():
        print(f"CSDL not found: {a.csdl} (give --csdl)", file=sys.stderr)
        return 2
    if a.self_test:
        return self_test(a.csdl)
    if not a.bodies:
        ap.print_usage(sys.stderr)
        return 2
    paths = collect(a.bodies)
    passed, failed = run(paths, Schema(a.csdl, supplement=not a.no_supplement))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
