using System.Diagnostics;

namespace Gateway.Observability;

// One ActivitySource per room. Span attributes carry ids, counts, statuses, accounts and templated amoCRM endpoints
// only: never a lead's fields, a token, a key, a query string or a caller's address.
internal static class GatewayTracing
{
    public static readonly ActivitySource Leads = new("Gateway.Leads");
    public static readonly ActivitySource Outbox = new("Gateway.Outbox");
    public static readonly ActivitySource Amo = new("Gateway.Amo");
    public static readonly ActivitySource Tokens = new("Gateway.Amo.Tokens");
    public static readonly ActivitySource Pacing = new("Gateway.Amo.Pacing");

    public static readonly string[] SourceNames = [Leads.Name, Outbox.Name, Amo.Name, Tokens.Name, Pacing.Name];

    // Span times are wall-clock by nature, like latencies: the injected clock is for business time.
    public static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    // The current span as a W3C traceparent, stored with a lead (null outside any trace).
    public static string? TraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C, Id: { } id } ? id : null;

    public static string? TraceId(string? traceParent) =>
        ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context.TraceId.ToHexString() : null;

    // One delivery attempt of stored items (a claimed batch), begun when its claim began. It is a child of the first
    // item's intake span, so a lead's trace holds each of its attempts with their amoCRM calls; a span has one parent,
    // so every item of a larger batch (the first too) is also a link. Rows stored before traces were kept start a
    // trace of their own.
    public static Activity? StartAttempt(string name, string account, IReadOnlyList<string?> traceParents, DateTimeOffset startedAt)
    {
        var contexts = new List<ActivityContext>(traceParents.Count);
        foreach (var traceParent in traceParents)
        {
            if (ActivityContext.TryParse(traceParent, null, isRemote: true, out var context))
            {
                contexts.Add(context);
            }
        }

        var parent = contexts.Count > 0 ? contexts[0] : default;
        var links = contexts.Count > 1 ? contexts.ConvertAll(c => new ActivityLink(c)) : null;
        var activity = Outbox.StartActivity(name, ActivityKind.Internal, parent, null, links, startedAt);
        if (activity is null && parent != default)
        {
            // Nobody records spans: a bare activity still puts the lead's trace id on every log line of the attempt.
            activity = new Activity(name);
            activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
            activity.Start();
        }

        activity?.SetTag("gateway.account", account);
        activity?.SetTag("gateway.batch.size", traceParents.Count);
        return activity;
    }

    // A step that already happened inside the current span (a claim, timed before its batch was known).
    public static void Step(ActivitySource source, string name, DateTimeOffset startedAt, int? items = null)
    {
        using var step = source.StartActivity(name, ActivityKind.Internal, default(ActivityContext), null, null, startedAt);
        if (items is { } count)
        {
            step?.SetTag("gateway.items", count);
        }
    }

    public static void Fail(this Activity? activity, string errorType)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, errorType);
            activity.SetTag("error.type", errorType);
        }
    }
}
