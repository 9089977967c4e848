# syntax=docker/dockerfile:1
# The gateway as a container: docker build -t amocrm-gateway . && see docker-compose.yml.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# global.json is left out on purpose: it pins the developers' SDK patch, and the image brings its own 10.0 SDK.
COPY Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj
COPY src/Gateway/ src/Gateway/
RUN dotnet publish src/Gateway -c Release --no-restore -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# bash's /dev/tcp instead of curl: nothing extra installed in the runtime image (see the script).
COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/gateway-healthcheck
# The aspnet image sets ASPNETCORE_HTTP_PORTS=8080, which would win over the gateway's 9095 default.
ENV ASPNETCORE_HTTP_PORTS=9095 \
    DATA_DIR=/data
# Owned by the image's non-root "app" user, so a fresh named volume starts writable.
RUN mkdir -p /data && chown "$APP_UID:$APP_UID" /data
VOLUME /data
EXPOSE 9095
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["gateway-healthcheck"]
ENTRYPOINT ["dotnet", "/app/Gateway.dll"]
