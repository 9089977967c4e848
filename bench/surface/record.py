#!/usr/bin/env python3
"""Records the gateway's HTTP surface (status, headers, normalised bodies) for a fixed set of requests.

Run before and after a change that must not change behaviour, then diff the two files:
  python3 bench/surface/record.py BIN_DIR OUT.txt
BIN_DIR holds Gateway.dll and Emulator.dll (the Debug build output of src/Gateway and src/Emulator).
  python3 bench/surface/record.py --native DIR/Gateway BIN_DIR OUT.txt
records the native (AOT) executable instead of BIN_DIR/Gateway.dll; the emulator still comes from BIN_DIR.
Everything runs on loopback; ids, times and random values are replaced by placeholders.
"""
import json, os, re, signal, subprocess, sys, tempfile, time, urllib.request, urllib.error, http.client

args = sys.argv[1:]
native = None
if args[:1] == ["--native"]:
    native, args = os.path.abspath(args[1]), args[2:]
gw_bin, out_path = os.path.abspath(args[0]), args[1]
emu_bin = os.path.abspath(args[2]) if len(args) > 2 else gw_bin
gw_cmd = [native] if native else ["dotnet", os.path.join(gw_bin, "Gateway.dll")]
GW, EMU = 19195, 19196
data = tempfile.mkdtemp(prefix="surface-")
key = "surface-key-0123456789abcdef"
env = dict(os.environ, API_KEY=key, DATA_DIR=data, AMO_DOMAIN="emulator.amocrm.ru", AMO_CLIENT_ID="emulator-client-id",
           AMO_CLIENT_SECRET="emulator-client-secret", AMO_REDIRECT_URI=f"http://localhost:{GW}/oauth/callback",
           AMO_BASE_URL=f"http://127.0.0.1:{EMU}", AMO_AUTH_URL=f"http://127.0.0.1:{EMU}/oauth", LOG_FORMAT="json",
           METRICS_TOKEN="surface-metrics-token-0123", CORS_ALLOWED_ORIGINS="https://shop.example", MAX_BODY_BYTES="4096",
           EMULATOR_REDIRECT_URI=f"http://localhost:{GW}/oauth/callback", EMULATOR_RATE_LIMIT="0", ENV_FILE="/nonexistent")
env.pop("DATABASE_URL", None)
procs = [subprocess.Popen(["dotnet", os.path.join(emu_bin, "Emulator.dll"), "--urls", f"http://127.0.0.1:{EMU}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
         subprocess.Popen(gw_cmd + ["--urls", f"http://127.0.0.1:{GW}"], env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]

def wait(port):
    for _ in range(200):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health"); return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} never answered")

SKIP = {"date", "x-request-id", "content-length", "transfer-encoding"}
def norm(text):
    text = re.sub(r"[0-9a-f]{16,}", "<hex>", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "<iso>", text)
    text = re.sub(r"(?<![\d.])1[6-9]\d{8}(\d{3})?(?![\d.])", "<unix>", text)
    text = re.sub(r"state=[A-Za-z0-9_\-]+", "state=<state>", text)
    text = re.sub(r"(code=)[A-Za-z0-9_\-.%]+", r"\1<code>", text)
    text = re.sub(r'"(seconds_left|refresh_token_age_seconds|oldest_queued_age_seconds|data_dir|lead_id|contact_id|id|_total_items)":\s*("[^"]*"|-?\d+)', r'"\1":<n>', text)
    # A delivered lead's note goes out on its own a moment later: which of the two it is at read time is a race.
    text = re.sub(r'"note_status": "(pending|delivering)"', '"note_status": "<in flight>"', text)
    text = re.sub(r"/tmp/surface-[A-Za-z0-9_]+", "<data>", text)
    return text

lines = []
def call(title, method, path, body=None, headers=None, port=GW, keep=True, metrics=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body); h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    raw = r.read().decode("utf-8", "replace")
    lines.append(norm(f"### {title}: {method} {path}"))
    lines.append(f"status {r.status}")
    for k, v in sorted((k.lower(), v) for k, v in r.getheaders()):
        if k not in SKIP:
            lines.append(f"{k}: {norm(v)}")
    if metrics:
        # Only which series exist (names and label sets), not their values.
        raw = "\n".join(sorted({re.sub(r" [^ ]+$", "", l) for l in raw.splitlines() if l and not l.startswith("#")} |
                               {l for l in raw.splitlines() if l.startswith("# TYPE")}))
    elif raw.startswith("{") or raw.startswith("["):
        try: raw = json.dumps(json.loads(raw), indent=1, sort_keys=True, ensure_ascii=False)
        except ValueError: pass
    lines.append(norm(raw)); lines.append("")
    return r, raw

try:
    wait(EMU); wait(GW)
    K = {"X-API-KEY": key}
    call("liveness", "GET", "/health")
    call("readiness before consent", "GET", "/health/ready")
    call("unknown route", "GET", "/nope")
    call("wrong method", "POST", "/health")
    call("trailing slash", "GET", "/health/")
    call("no key", "GET", "/api/v1/info/pipelines")
    call("wrong key", "GET", "/api/v1/info/pipelines", headers={"X-API-KEY": "wrong-key-000000000000"})
    call("lead before consent", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Before"}, "contact": {"phone": "+998901112233"}}, K)
    call("oauth status before", "GET", "/oauth/status")
    r, _ = call("authorize", "GET", "/oauth/authorize")
    loc = r.getheader("Location")
    u = urllib.parse.urlsplit(loc)
    c = http.client.HTTPConnection(u.hostname, u.port); c.request("GET", u.path + "?" + u.query); cr = c.getresponse(); cr.read()
    back = urllib.parse.urlsplit(cr.getheader("Location"))
    call("callback with bad state", "GET", "/oauth/callback?code=x&state=nope")
    call("callback", "GET", "/oauth/callback?" + back.query)
    # The lead queued before consent goes out now: wait for it, so the queue below reads the same every run.
    for _ in range(100):
        c = http.client.HTTPConnection("127.0.0.1", GW); c.request("GET", "/api/v1/diagnostics/queue", headers=K)
        if json.loads(c.getresponse().read())["data"]["depth"] == 0: break
        time.sleep(0.1)
    call("oauth status after", "GET", "/oauth/status")
    call("readiness after consent", "GET", "/health/ready")
    call("token status", "GET", "/api/v1/diagnostics/token-status", headers=K)
    call("config", "GET", "/api/v1/diagnostics/config", headers=K)
    call("queue", "GET", "/api/v1/diagnostics/queue", headers=K)
    for p in ["/api/v1/info/pipelines", "/api/v1/info/pipelines/7001", "/api/v1/info/pipelines/abc", "/api/v1/info/pipelines/999999", "/api/v1/info/lead-fields", "/api/v1/info/contact-fields", "/api/v1/info/account"]:
        call("info", "GET", p, headers=K)
    full = {"lead": {"name": "Surface", "price": 1000, "tags": ["a", "b"]}, "contact": {"name": "Ali", "phone": "+998901112233", "email": "a@example.uz"},
            "utm": {"utm_source": "google", "utm_campaign": "x"}, "comment": "call back", "source": "site"}
    call("lead", "POST", "/api/v1/leads/unsorted", full, K)
    call("lead, Bearer", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Bearer"}}, {"Authorization": "Bearer " + key})
    call("lead invalid", "POST", "/api/v1/leads/unsorted", {"lead": {"name": ""}, "contact": {"email": "nope"}}, K)
    call("lead not an object", "POST", "/api/v1/leads/unsorted", "[1,2]", dict(K, **{"Content-Type": "application/json"}))
    call("lead malformed", "POST", "/api/v1/leads/unsorted", "{\"lead\":", dict(K, **{"Content-Type": "application/json"}))
    call("lead wrong type", "POST", "/api/v1/leads/unsorted", "name=x", dict(K, **{"Content-Type": "application/x-www-form-urlencoded"}))
    call("lead too large", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "x" * 5000}}, K)
    call("lead deep", "POST", "/api/v1/leads/unsorted", "[" * 40 + "]" * 40, dict(K, **{"Content-Type": "application/json"}))
    ik = dict(K, **{"Idempotency-Key": "surface-1"})
    call("idempotent first", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Idem"}, "contact": {"phone": "+998901112234"}}, ik)
    call("idempotent repeat", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Idem"}, "contact": {"phone": "+998901112234"}}, ik)
    call("idempotent conflict", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Other"}, "contact": {"phone": "+998901112234"}}, ik)
    call("list", "GET", "/api/v1/leads?limit=2", headers=K)
    call("list bad status", "GET", "/api/v1/leads?status=bogus", headers=K)
    call("get", "GET", "/api/v1/leads/1", headers=K)
    call("get missing", "GET", "/api/v1/leads/999999", headers=K)
    call("get bad id", "GET", "/api/v1/leads/abc", headers=K)
    call("retry not failed", "POST", "/api/v1/leads/1/retry", headers=K)
    call("retry all", "POST", "/api/v1/leads/retry-failed", headers=K)
    call("preflight allowed", "OPTIONS", "/api/v1/leads/unsorted", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key,content-type"})
    call("preflight denied", "OPTIONS", "/api/v1/leads/unsorted", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    call("cors request", "POST", "/api/v1/leads/unsorted", {"lead": {"name": "Cors"}, "contact": {"phone": "+998901112235"}}, dict(K, Origin="https://shop.example"))
    call("metrics no key", "GET", "/metrics")
    call("metrics token", "GET", "/metrics", headers={"Authorization": "Bearer surface-metrics-token-0123"}, metrics=True)
    call("metrics key", "GET", "/metrics", headers=K, metrics=True)
    call("openapi", "GET", "/openapi/v1.json")
finally:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=20)
open(out_path, "w").write("\n".join(lines))
print(f"{sum(1 for l in lines if l.startswith('### '))} requests recorded in {out_path}")
