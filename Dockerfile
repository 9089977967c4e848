# syntax=docker/dockerfile:1
# The gateway as a container: docker build -t amocrm-gateway . && see docker-compose.yml.
# One Native AOT executable on runtime-deps: no .NET runtime in the image (see README, "Install without .NET").

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# The AOT compiler links with clang and zlib; the SDK image has neither.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# global.json is left out on purpose: it pins the developers' SDK patch, and the image brings its own 10.0 SDK.
COPY Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj -p:PublishAot=true
COPY src/Gateway/ src/Gateway/
# Symbols (Gateway.dbg) stay in the build stage: they double the size and nothing in the image reads them.
RUN dotnet publish src/Gateway -c Release -o /app -p:PublishAot=true \
    && rm -f /app/*.dbg

# The same Ubuntu release as the SDK image, so the executable finds the glibc it was linked against;
# it brings libssl (TLS to amoCRM) and bash (the health probe). ICU is not needed: InvariantGlobalization is on.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /app ./
# bash's /dev/tcp instead of curl: nothing extra installed in the runtime image (see the script).
COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/gateway-healthcheck
# The runtime-deps image sets ASPNETCORE_HTTP_PORTS=8080, which would win over the gateway's 9095 default.
ENV ASPNETCORE_HTTP_PORTS=9095 \
    DATA_DIR=/data
# Owned by the image's non-root "app" user, so a fresh named volume starts writable.
RUN mkdir -p /data && chown "$APP_UID:$APP_UID" /data
VOLUME /data
EXPOSE 9095
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["gateway-healthcheck"]
ENTRYPOINT ["/app/Gateway"]
