using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Tests.Operations;

// /openapi/v1.json documents every route: a new route without documentation fails here.
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task Every_mapped_endpoint_is_in_the_document()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var document = await DocumentAsync(app);
        var paths = document["paths"]!.AsObject();

        var endpoints = app.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/openapi/", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: OpenApiPath(e.RoutePattern.RawText!))))
            .ToList();

        Assert.True(endpoints.Count >= 18, $"only {endpoints.Count} endpoints found");
        var missing = endpoints.Where(e => paths[e.Path]?[e.Method.ToLowerInvariant()] is null).Select(e => $"{e.Method} {e.Path}").ToList();
        Assert.True(missing.Count == 0, "undocumented: " + string.Join(", ", missing));
        foreach (var path in new[] { "/health", "/health/ready", "/metrics", "/oauth/authorize", "/api/v1/leads/unsorted", "/api/v1/leads/{id}/retry", "/api/v1/leads/retry-failed", "/api/v1/diagnostics/queue" })
        {
            Assert.NotNull(paths[path]);
        }
    }

    [Fact]
    public async Task Keyed_routes_declare_the_api_key_scheme_and_open_ones_do_not()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var document = await DocumentAsync(app);

        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal("apiKey", (string?)scheme["type"]);
        Assert.Equal("header", (string?)scheme["in"]);
        Assert.Equal("X-API-KEY", (string?)scheme["name"]);
        Assert.NotNull(document["paths"]!["/api/v1/info/account"]!["get"]!["security"]![0]!["ApiKey"]);
        Assert.Null(document["paths"]!["/health"]!["get"]!["security"]);
        Assert.Null(document["paths"]!["/oauth/callback"]!["get"]!["security"]);
    }

    [Fact]
    public async Task Lead_creation_carries_request_and_response_examples()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var document = await DocumentAsync(app);

        var operation = document["paths"]!["/api/v1/leads/unsorted"]!["post"]!;
        Assert.Equal("Yangi mijoz", (string?)operation["requestBody"]!["content"]!["application/json"]!["example"]!["lead"]!["name"]);
        foreach (var (status, message) in new[] { ("200", "Unsorted lead created successfully"), ("202", "Lead accepted and queued for delivery") })
        {
            Assert.Equal(message, (string?)operation["responses"]![status]!["content"]!["application/json"]!["example"]!["message"]);
        }

        Assert.Equal("Validation failed", (string?)operation["responses"]!["422"]!["content"]!["application/json"]!["example"]!["error"]);
        Assert.Contains(operation["parameters"]!.AsArray(), p => (string?)p!["name"] == "Idempotency-Key");
    }

    private static async Task<JsonObject> DocumentAsync(GatewayApp app)
    {
        var response = await app.CreateAnonymousClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    // Route parameters lose their constraints in OpenAPI: /api/v1/leads/{id:long} is /api/v1/leads/{id}.
    private static string OpenApiPath(string pattern)
    {
        var path = "/" + Constraint().Replace(pattern.Trim('/'), "{$1}");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    [GeneratedRegex(@"\{([A-Za-z_]+)(:[^}]*)?\}")]
    private static partial Regex Constraint();
}
