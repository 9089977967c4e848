using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Security;

internal static class SecurityTestKit
{
    // The TestServer gives every request the same (null) peer address; this header plays the TCP peer in tests.
    public const string PeerHeader = "X-Test-Peer";

    public static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string KeysJson(params string[] entries) => $$"""{"keys":[{{string.Join(",", entries)}}]}""";

    public static string Entry(string name, string key, string extra = "") =>
        $$"""{"name":"{{name}}","sha256":"{{Sha256(key)}}"{{(extra.Length > 0 ? "," + extra : "")}}}""";

    public static string WriteKeysFile(string dataDir, params string[] entries)
    {
        var path = Path.Combine(dataDir, "api-keys.json");
        File.WriteAllText(path, KeysJson(entries));
        return path;
    }

    // The app with the peer header honoured (and optionally a scope-capturing logger).
    public static WebApplicationFactory<Program> WithPeers(this GatewayApp app, ScopedLogs? logs = null) =>
        app.WithWebHostBuilder(builder =>
        {
            builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, PeerFromHeader>());
            if (logs is not null)
            {
                builder.ConfigureLogging(logging => logging.AddProvider(logs));
            }
        });

    public static HttpClient Client(this WebApplicationFactory<Program> app, string? key = null, string? peer = null, string baseAddress = "http://localhost")
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri(baseAddress) });
        if (key is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("X-API-KEY", key);
        }

        if (peer is not null)
        {
            client.DefaultRequestHeaders.Add(PeerHeader, peer);
        }

        return client;
    }

    private sealed class PeerFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers.TryGetValue(PeerHeader, out var peer) && IPAddress.TryParse(peer.ToString(), out var address))
                {
                    context.Connection.RemoteIpAddress = address;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

// Log lines with the scopes they were written in.
internal sealed class ScopedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<(string Message, IReadOnlyList<KeyValuePair<string, object?>> Scope)> lines = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<(string Message, IReadOnlyList<KeyValuePair<string, object?>> Scope)> Lines => lines.ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(ScopedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new List<KeyValuePair<string, object?>>();
            owner.scopes.ForEachScope((s, list) =>
            {
                if (s is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    list.AddRange(pairs);
                }
            }, scope);
            owner.lines.Enqueue((formatter(state, exception), scope));
        }
    }
}
