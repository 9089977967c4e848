#!/usr/bin/env bash
# Checks the deployment files (run by .ci/run before the tests; fails on the first problem):
#   Dockerfile and .dockerignore   hadolint when installed, else sanity checks; docker-compose files when compose is there
#   systemd unit                   systemd-analyze verify (any complaint fails), alone and with the native drop-in; exposure score
#   alert rules and dashboard      promtool check/test rules (Debian's prometheus package), dashboard shape and PromQL
#   nginx site                     nginx -t with a throwaway certificate, then end to end: the published
#                                  gateway behind that nginx over TLS, and the image's health probe
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'deploy check FAILED: %s\n' "$*" >&2; exit 1; }

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's nginx package may start a server on :80 when it is installed; this script needs none.
nginx_bin=$(command -v nginx)

work=$(mktemp -d)
chmod 755 "$work"
gateway_pid=""
cleanup() {
  if [[ -n "$gateway_pid" ]]; then kill "$gateway_pid" 2>/dev/null || true; fi
  if [[ -f "$work/nginx/nginx.pid" ]]; then kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

say "Prometheus alert rules and the Grafana dashboard"
# promtool comes with Debian's prometheus package: rules parsed, the alerts' unit tests run, every dashboard query parsed
# as PromQL; without it (no package), a YAML/JSON sanity check of both files still runs.
if ! command -v promtool >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || true
fi
python3 deploy/check-observability.py "$work/dashboard-queries.yml" || fail "the dashboard or the alert rules name something /metrics does not serve"
if command -v promtool >/dev/null 2>&1; then
  promtool check rules deploy/prometheus/gateway-alerts.yml || fail "promtool check rules: deploy/prometheus/gateway-alerts.yml"
  (cd deploy/prometheus && promtool test rules gateway-alerts.test.yml) || fail "promtool test rules: an alert does not fire as its test says"
  promtool check rules "$work/dashboard-queries.yml" >/dev/null || fail "promtool: a dashboard query is not valid PromQL"
  echo "promtool: rules, alert tests and dashboard queries ok"
else
  echo "NOTE: promtool is not installed (no prometheus package); PromQL not parsed"
fi

say "Dockerfile"
if command -v hadolint >/dev/null 2>&1; then
  hadolint Dockerfile
else
  echo "NOTE: hadolint is not installed (Debian has no package for it); sanity checks instead"
fi
# dockerfile-utils (npm; the linter of VS Code's Dockerfile support) parses every instruction and its arguments.
if command -v npm >/dev/null 2>&1 && npm install --silent --no-audit --no-fund --prefix "$work/npm" dockerfile-utils@0.16.3 >/dev/null 2>&1; then
  "$work/npm/node_modules/.bin/dockerfile-utils" lint Dockerfile || fail "dockerfile-utils lint found problems in the Dockerfile"
  echo "dockerfile-utils lint: ok"
else
  echo "NOTE: npm or the dockerfile-utils package is not available; Dockerfile syntax not linted"
fi
grep -Eq '^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build$' Dockerfile || fail "Dockerfile: build stage is not sdk:10.0"
grep -Eq '^FROM mcr\.microsoft\.com/dotnet/runtime-deps:10\.0$' Dockerfile || fail "Dockerfile: runtime stage is not runtime-deps:10.0 (the native executable needs no .NET runtime)"
grep -Eq 'PublishAot=true' Dockerfile || fail "Dockerfile: the build stage does not publish the Native AOT executable"
grep -Eq '^ENTRYPOINT \["/app/Gateway"\]$' Dockerfile || fail "Dockerfile: the entry point is not the native executable /app/Gateway"
user=$(grep -E '^USER ' Dockerfile | tail -n1 | awk '{print $2}')
[[ -n "$user" && "$user" != root && "$user" != 0 && "$user" != 0:* ]] || fail "Dockerfile: the last USER must be non-root (got '${user:-none}')"
grep -Eq '^HEALTHCHECK .*CMD \["gateway-healthcheck"\]' Dockerfile || fail "Dockerfile: no HEALTHCHECK running gateway-healthcheck"
grep -Eq '^VOLUME /data$' Dockerfile || fail "Dockerfile: no VOLUME /data"
grep -Eq 'DATA_DIR=/data' Dockerfile || fail "Dockerfile: DATA_DIR is not /data"
grep -Eq 'ASPNETCORE_HTTP_PORTS=9095' Dockerfile || fail "Dockerfile: ASPNETCORE_HTTP_PORTS is not 9095 (the base image's 8080 would win)"
grep -Eq '^EXPOSE 9095$' Dockerfile || fail "Dockerfile: no EXPOSE 9095"
# Every file the build copies from the context exists and is let through by the allow-list .dockerignore.
allowed() {
  local pattern
  while read -r pattern; do
    [[ "$pattern" == "!$1" || ( "$pattern" == */ && "!$1" == "$pattern"* ) ]] && return 0
  done < <(grep '^!' .dockerignore)
  return 1
}
while read -r source; do
  [[ -e "$source" ]] || fail "Dockerfile copies $source, which does not exist"
  allowed "$source" || fail "Dockerfile copies $source, which .dockerignore leaves out"
done < <(grep -E '^COPY ' Dockerfile | grep -v -- '--from=' | sed -E 's/^COPY( --[^ ]+)* //' | awk '{ for (i = 1; i < NF; i++) print $i }' | sed 's#^\./##')
grep -Fxq '*' .dockerignore || fail ".dockerignore is not an allow-list (first line '*')"
[[ -x deploy/docker/healthcheck.sh ]] || fail "deploy/docker/healthcheck.sh is not executable"
bash -n deploy/docker/healthcheck.sh
echo "Dockerfile: ok"

say "docker-compose"
if command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1; then
  compose=(docker-compose)
  docker compose version >/dev/null 2>&1 && compose=(docker compose)
  mkdir "$work/compose"
  cp docker-compose.yml docker-compose.postgres.yml "$work/compose/"
  printf 'API_KEY=check-0123456789\nPOSTGRES_PASSWORD=check\n' > "$work/compose/.env"
  (cd "$work/compose" && "${compose[@]}" -f docker-compose.yml config -q) || fail "docker-compose.yml is invalid"
  (cd "$work/compose" && "${compose[@]}" -f docker-compose.yml -f docker-compose.postgres.yml --profile postgres config -q) || fail "docker-compose.yml + docker-compose.postgres.yml are invalid"
  merged=$(cd "$work/compose" && "${compose[@]}" -f docker-compose.yml -f docker-compose.postgres.yml --profile postgres config)
  grep -q 'DATABASE_URL: postgres://gateway:check@postgres:5432/gateway' <<<"$merged" \
    || fail "the postgres override does not give the gateway DATABASE_URL"
  grep -q 'DATA_DIR: /data' <<<"$merged" || fail "compose does not pin the gateway's DATA_DIR to the volume"
  echo "docker-compose: ok (${compose[*]})"
else
  echo "NOTE: no docker compose here; compose files not validated"
fi

say "systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify only warns about unknown keys and bad values, so any output at all is a failure.
  out=$(systemd-analyze verify deploy/systemd/amocrm-gateway.service 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify complained: $out"
  exposure=$(systemd-analyze security --offline=yes deploy/systemd/amocrm-gateway.service 2>/dev/null | grep -o 'Overall exposure level for [^:]*: [0-9.]*' || true)
  if [[ -n "$exposure" ]]; then
    echo "$exposure"
    awk -v s="${exposure##* }" 'BEGIN { exit !(s <= 2.5) }' || fail "the unit's exposure rose above 2.5: $exposure"
  fi
  # The native drop-in applied to the unit, as systemd reads /etc/systemd/system/amocrm-gateway.service.d/:
  # its ExecStart pointed at a stand-in file, because verify insists the command exists.
  mkdir -p "$work/systemd/amocrm-gateway.service.d" "$work/opt"
  printf '#!/bin/sh\n' > "$work/opt/Gateway" && chmod 755 "$work/opt/Gateway"
  cp deploy/systemd/amocrm-gateway.service "$work/systemd/"
  sed "s#^ExecStart=/opt/amocrm-gateway/Gateway\$#ExecStart=$work/opt/Gateway#" deploy/systemd/native.conf \
    > "$work/systemd/amocrm-gateway.service.d/native.conf"
  grep -q "^ExecStart=$work/opt/Gateway$" "$work/systemd/amocrm-gateway.service.d/native.conf" || fail "native.conf: ExecStart not rewritten"
  out=$(systemd-analyze verify "$work/systemd/amocrm-gateway.service" 2>&1) || fail "systemd-analyze verify (native drop-in): $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify complained about the native drop-in: $out"
  echo "systemd unit: ok (and with deploy/systemd/native.conf)"
else
  echo "NOTE: systemd-analyze is not installed; unit not verified"
fi

say "nginx site"
http_port=$(free_port); tls_port=$(free_port); gateway_port=$(free_port)
mkdir -p "$work/tls" "$work/nginx/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=gateway.example.com -addext subjectAltName=DNS:gateway.example.com \
  -keyout "$work/tls/privkey.pem" -out "$work/tls/fullchain.pem" 2>/dev/null
sed -E -e "s#/etc/letsencrypt/live/gateway.example.com/#$work/tls/#" \
    -e '/^ *listen \[::\]/d' \
    -e "s/^( *)listen 443 /\1listen 127.0.0.1:$tls_port /" \
    -e "s/^( *)listen 80;/\1listen 127.0.0.1:$http_port;/" \
    -e "s/127\.0\.0\.1:9095/127.0.0.1:$gateway_port/" \
    deploy/nginx/amocrm-gateway.conf > "$work/nginx/site.conf"
# A rewrite that no longer matches would test the wrong thing silently.
! grep -q '/etc/letsencrypt/live' "$work/nginx/site.conf" || fail "certificate paths not rewritten"
[[ $(grep -Ec "^ *listen 127.0.0.1:" "$work/nginx/site.conf") == 2 ]] || fail "listen lines not rewritten"
grep -q "server 127.0.0.1:$gateway_port" "$work/nginx/site.conf" || fail "upstream not rewritten"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log $work/nginx/access.log;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    include $work/nginx/site.conf;
}
CONF
"$nginx_bin" -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf" || fail "nginx -t rejected deploy/nginx/amocrm-gateway.conf"
echo "nginx -t: ok"

say "end to end: client -> nginx (TLS) -> published gateway"
dotnet publish src/Gateway -c Release -o "$work/app" -nologo -v q -p:UseAppHost=false >"$work/publish.log" 2>&1 \
  || { cat "$work/publish.log"; fail "dotnet publish src/Gateway"; }
# As the image runs it: a non-root user owning only DATA_DIR, settings from the environment, nothing in the cwd.
mkdir -p "$work/data" "$work/run"
run_as=()
if [[ $(id -u) == 0 ]]; then
  chown 1654:1654 "$work/data"
  run_as=(setpriv --reuid=1654 --regid=1654 --clear-groups)
fi
(cd "$work/run" && exec env -u ASPNETCORE_URLS -u ENV_FILE -u DATABASE_URL HOME="$work/data" \
  ASPNETCORE_HTTP_PORTS="$gateway_port" DATA_DIR="$work/data" API_KEY=deploy-check-0123456789 \
  AMO_DOMAIN=deploycheck.amocrm.ru AMO_CLIENT_ID=deploy-check AMO_CLIENT_SECRET=deploy-check-secret \
  AMO_REDIRECT_URI=https://gateway.example.com/oauth/callback AMO_BASE_URL="http://127.0.0.1:$(free_port)" \
  "${run_as[@]}" dotnet "$work/app/Gateway.dll" >"$work/gateway.log" 2>&1) &
gateway_pid=$!
probe() { ASPNETCORE_HTTP_PORTS="$gateway_port" deploy/docker/healthcheck.sh; }
for _ in $(seq 1 60); do
  probe 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/gateway.log"; fail "the gateway exited at start-up"; }
  sleep 0.5
done
probe || { cat "$work/gateway.log"; fail "the image's health probe never saw /health answer 200"; }
echo "health probe (deploy/docker/healthcheck.sh): healthy"

"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" || fail "nginx did not start"
https=(curl -sS --max-time 20 --cacert "$work/tls/fullchain.pem" --resolve "gateway.example.com:$tls_port:127.0.0.1")
base="https://gateway.example.com:$tls_port"
expect() { # expect NAME WANT_STATUS GOT_STATUS BODY_FILE PATTERN
  [[ "$3" == "$2" ]] || { cat "$4"; echo; cat "$work/nginx/error.log"; fail "$1: status $3, expected $2"; }
  grep -Eq "$5" "$4" || { cat "$4"; echo; fail "$1: body does not match $5"; }
  echo "$1: $3 ok"
}

status=$("${https[@]}" --http2 -o "$work/body" -w '%{http_code} HTTP/%{http_version}' "$base/health")
expect "GET /health over TLS, HTTP/2" "200 HTTP/2" "$status" "$work/body" '"success":true.*"status":"ok"'

status=$(curl -sS --max-time 10 -o "$work/body" -w '%{http_code} %{redirect_url}' -H 'Host: gateway.example.com' "http://127.0.0.1:$http_port/health?x=1")
expect "plain HTTP redirects to HTTPS" "301 https://gateway.example.com/health?x=1" "$status" "$work/body" '301'

head -c 100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"source":"/; s/$/"}/' > "$work/lead-100k.json"
status=$("${https[@]}" -o "$work/body" -w '%{http_code}' -X POST -H 'X-API-KEY: deploy-check-0123456789' \
  -H 'Content-Type: application/json' --data-binary @"$work/lead-100k.json" "$base/api/v1/leads/unsorted")
expect "100 KB lead reaches the gateway's own 413" 413 "$status" "$work/body" '"max_bytes":65536'

head -c 200000 /dev/zero | tr '\0' 'a' > "$work/lead-200k.json"
status=$("${https[@]}" -o "$work/body" -w '%{http_code}' -X POST -H 'X-API-KEY: deploy-check-0123456789' \
  -H 'Content-Type: application/json' --data-binary @"$work/lead-200k.json" "$base/api/v1/leads/unsorted")
expect "200 KB lead stopped by nginx in the envelope" 413 "$status" "$work/body" '^\{"success":false,"error":"Request body too large"\}$'

status=$("${https[@]}" -o "$work/body" -w '%{http_code}' -H 'X-API-KEY: wrong-key-0123456789' "$base/api/v1/diagnostics/queue")
expect "a wrong API key is the gateway's 401" 401 "$status" "$work/body" '"success":false'

kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true; gateway_pid=""
status=$("${https[@]}" -D "$work/headers" -o "$work/body" -w '%{http_code}' "$base/health")
expect "gateway down: nginx answers 503 in the envelope" 503 "$status" "$work/body" '^\{"success":false,"error":"Gateway unavailable"\}$'
grep -qi '^retry-after: 5' "$work/headers" || fail "nginx's 503 has no Retry-After"
! probe 2>/dev/null || fail "the health probe says healthy with the gateway stopped"
echo "health probe with the gateway stopped: unhealthy ok"

say "deploy checks passed"
