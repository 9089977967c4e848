using System.Collections;
using System.Diagnostics;

namespace Gateway.Observability;

// Outermost middleware: a request id for every request (the caller's, when it is sane), echoed on every answer,
// a logging scope carrying it, one access-log line, and the HTTP metrics.
internal sealed partial class RequestTelemetry(RequestDelegate next, GatewayMetrics metrics, ILogger<RequestTelemetry> logger)
{
    public const string HeaderName = "X-Request-Id";
    public const string Unmatched = "unmatched";
    private const int MaxLength = 128;

    private static readonly string[] KnownMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = Accept(context.Request.Headers[HeaderName]) ?? Guid.NewGuid().ToString("N");
        context.TraceIdentifier = requestId;

        // OnStarting, not a header set now: the exception handler clears headers before it writes the 500.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[HeaderName] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);

        var route = new RouteCapture();
        context.Features.Set(route);
        var started = Stopwatch.GetTimestamp();
        using var trace = Activity.Current is null ? StartTrace(context.Request) : null;
        using var scope = logger.BeginScope(new RequestScope(requestId));
        try
        {
            await next(context);
        }
        finally
        {
            // Latency is wall-clock by nature: the injected clock is for business time.
            var elapsed = Stopwatch.GetElapsedTime(started);
            var method = Array.Find(KnownMethods, m => string.Equals(m, context.Request.Method, StringComparison.OrdinalIgnoreCase)) ?? "OTHER";
            var template = route.Template ?? (method == "OPTIONS" ? "preflight" : Unmatched);
            var status = context.Response.StatusCode;
            metrics.HttpRequest(template, method, status, elapsed);
            // A webhook's path holds its secret: such routes are logged by their template.
            var path = template.StartsWith("/hooks/", StringComparison.Ordinal) ? template : context.Request.Path.Value ?? "/";
            var milliseconds = elapsed.TotalMilliseconds;
            // Probes, scrapes and successful reads (cached info answers tens of thousands a second) log at Debug:
            // an Information line per request would make the console the bottleneck.
            if (template.StartsWith("/health", StringComparison.Ordinal) || template == "/metrics" || (method is "GET" or "HEAD" && status < 400))
            {
                LogRead(method, path, status, milliseconds);
            }
            else
            {
                LogRequest(method, path, status, milliseconds);
            }
        }
    }

    // ASP.NET Core starts no activity of its own when nothing listens: this one (the caller's trace when it sent a valid
    // traceparent) still gives every log line of the request, and the lead it stores, a trace id.
    private static Activity StartTrace(HttpRequest request)
    {
        var activity = new Activity("gateway.request");
        if (request.Headers.TraceParent.Count == 1 && ActivityContext.TryParse(request.Headers.TraceParent[0], null, isRemote: true, out var parent))
        {
            activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        }

        return activity.Start();
    }

    // Printable ASCII without spaces, at most 128 characters, exactly one value; anything else is replaced, not echoed.
    internal static string? Accept(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count != 1 || values[0] is not { Length: > 0 and <= MaxLength } value)
        {
            return null;
        }

        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                return null;
            }
        }

        return value;
    }

    // Query strings are left out: /oauth/callback carries the authorization code in one.
    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP {Method} {Path} answered {Status} in {ElapsedMs:0.0} ms")]
    private partial void LogRequest(string method, string path, int status, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "HTTP {Method} {Path} answered {Status} in {ElapsedMs:0.0} ms")]
    private partial void LogRead(string method, string path, int status, double elapsedMs);

    internal sealed class RouteCapture
    {
        public string? Template { get; set; }
    }

    // Renders as "RequestId:abc" in text and as {"RequestId":"abc"} in JSON scopes.
    private sealed class RequestScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("RequestId", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "RequestId:" + requestId;
    }
}

internal static class RequestTelemetryExtensions
{
    public static IApplicationBuilder UseRequestTelemetry(this IApplicationBuilder app) => app.UseMiddleware<RequestTelemetry>();

    // After UseRouting: remember the matched template before an exception handler clears the endpoint.
    public static IApplicationBuilder UseRouteCapture(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.GetEndpoint() is RouteEndpoint endpoint && context.Features.Get<RequestTelemetry.RouteCapture>() is { } capture)
            {
                capture.Template = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
            }

            return next(context);
        });
}
