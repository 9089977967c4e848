using System.Text;
using Gateway.Observability;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Operations;

internal static class MetricsApi
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Not open to loopback: behind the usual nginx every request comes from 127.0.0.1.
    public static void MapMetrics(this IEndpointRouteBuilder routes)
    {
        if (!routes.ServiceProvider.GetRequiredService<IOptions<ObservabilityOptions>>().Value.MetricsEnabled)
        {
            return;
        }

        // Created now, so the listener sees every measurement from the first request on.
        routes.ServiceProvider.GetRequiredService<PrometheusCollector>();
        routes.MapGet("/metrics", ScrapeAsync).AllowAnonymous().WithTags("Observability")
            .WithSummary("Prometheus metrics (text format 0.0.4)")
            .WithDescription("Needs X-API-KEY, or Authorization: Bearer with METRICS_TOKEN or the API key.");
    }

    private static async Task<IResult> ScrapeAsync(HttpContext context, MetricsCredential credential, PrometheusCollector collector, GatewayStatus status, CancellationToken cancellationToken)
    {
        if (!credential.Admits(context))
        {
            return ApiKeyRefusal.Result;
        }

        var text = new StringBuilder();
        collector.WriteTo(text);
        await WriteStateAsync(text, status, cancellationToken);
        return Results.Text(text.ToString(), ContentType);
    }

    // Gauges read at scrape time from the outbox and the token store, never cached.
    private static async Task WriteStateAsync(StringBuilder text, GatewayStatus status, CancellationToken cancellationToken)
    {
        var reachable = await status.DatabaseReachableAsync(cancellationToken);
        Gauge(text, "gateway_database_up", "1 when the database answers", [("", reachable ? 1 : 0)]);
        if (!reachable)
        {
            return;
        }

        var accounts = await status.AccountsAsync(cancellationToken);
        Gauge(text, "gateway_outbox_leads", "Leads in the outbox by status (delivered ones are not counted)", accounts.SelectMany(a => new[]
        {
            (Labels(a.Account, ("status", "queued")), (double)a.Queue.Queued),
            (Labels(a.Account, ("status", "delivering")), a.Queue.Delivering),
            (Labels(a.Account, ("status", "failed")), a.Queue.Failed),
        }));
        Gauge(text, "gateway_outbox_notes_pending", "Notes waiting to be added to delivered leads", accounts.Select(a => (Labels(a.Account), (double)a.Queue.NotesPending)));
        Gauge(text, "gateway_outbox_oldest_queued_age_seconds", "Age of the oldest lead not yet delivered (0 when none)", accounts.Select(a => (Labels(a.Account), (double)(a.OldestQueuedAgeSeconds ?? 0))));
        Gauge(text, "gateway_token_can_deliver", "1 when the account's amoCRM token is usable or refreshable", accounts.Select(a => (Labels(a.Account), a.CanDeliver ? 1.0 : 0)));
        Gauge(text, "gateway_token_state", "The account's token state (1 for the current one)", accounts.Select(a => (Labels(a.Account, ("state", a.TokenState)), 1.0)));
    }

    private static string Labels(string account, params (string Name, string Value)[] more) =>
        string.Join(",", more.Prepend((Name: "account", Value: account)).Select(l => PrometheusCollector.Label(l.Name, l.Value)));

    private static void Gauge(StringBuilder text, string name, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(" gauge\n");
        foreach (var (labels, value) in samples)
        {
            text.Append(name).Append(labels.Length > 0 ? "{" + labels + "}" : "").Append(' ').Append(PrometheusCollector.Number(value)).Append('\n');
        }
    }
}
