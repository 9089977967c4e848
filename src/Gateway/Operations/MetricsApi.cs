using Gateway.Observability;
using Gateway.Security;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Gateway.Operations;

// /metrics: OpenTelemetry's Prometheus exporter behind the gateway's own credential check.
internal static class MetricsApi
{
    // Not open to loopback: behind the usual nginx every request comes from 127.0.0.1.
    public static void MapMetrics(this IEndpointRouteBuilder routes)
    {
        if (!routes.ServiceProvider.GetRequiredService<IOptions<ObservabilityOptions>>().Value.MetricsEnabled)
        {
            return;
        }

        // The exporter's own middleware, in a pipeline of its own, writes the scrape (text format 0.0.4, or OpenMetrics
        // when the scraper asks for it); the route stays a minimal-API GET, so the OpenAPI document and 405s stay as they were.
        var branch = routes.CreateApplicationBuilder();
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(routes.ServiceProvider.GetRequiredService<MeterProvider>(), static _ => true, null, null, null);
        var exporter = branch.Build();
        routes.MapGet("/metrics", (HttpContext context, MetricsCredential credential, StateGauges gauges, CancellationToken cancellationToken) =>
                ScrapeAsync(context, credential, gauges, exporter, cancellationToken))
            .AllowAnonymous().WithTags("Observability")
            .WithSummary("Prometheus metrics (text format 0.0.4)")
            .WithDescription("Needs X-API-KEY, or Authorization: Bearer with METRICS_TOKEN or the API key.");
    }

    private static async Task<IResult> ScrapeAsync(HttpContext context, MetricsCredential credential, StateGauges gauges, RequestDelegate exporter, CancellationToken cancellationToken)
    {
        if (!credential.Admits(context))
        {
            return ApiKeyRefusal.Result;
        }

        // Gauges read at scrape time from the outbox and the token store, never cached.
        await gauges.RefreshAsync(cancellationToken);
        await exporter(context);
        return Results.Empty;
    }
}
