using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Gateway.Observability;

// Innermost handler of both amoCRM clients: one log line, one metric and one client span per call that actually went
// out (a resend after a 401 is its own call), with amoCRM's own X-Request-Id for support tickets. The span names the
// templated endpoint, never the query string or a body.
internal sealed partial class AmoCallTelemetryHandler(GatewayMetrics metrics, ILogger<AmoCallTelemetryHandler> logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The path only: no query string, no host (the account is in the scope of whoever called).
        var path = request.RequestUri?.AbsolutePath ?? "";
        var endpoint = Endpoint(path);
        var method = request.Method.Method;
        var started = Stopwatch.GetTimestamp();
        using var span = GatewayTracing.Amo.StartActivity("amo.call", ActivityKind.Client);
        if (span is not null)
        {
            span.DisplayName = "amoCRM " + method + " " + endpoint;
            span.SetTag("http.request.method", method);
            span.SetTag("url.template", endpoint);
            span.SetTag("server.address", request.RequestUri?.Host);
        }

        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var status = (int)response.StatusCode;
            metrics.AmoRequest(endpoint, method, status.ToString(System.Globalization.CultureInfo.InvariantCulture), elapsed);
            var amoRequestId = (response.Headers.TryGetValues("X-Request-Id", out var ids) ? RequestTelemetry.Accept(new(ids.ToArray())) : null) ?? "-";
            if (span is not null)
            {
                span.SetTag("http.response.status_code", status);
                span.SetTag("amo.request_id", amoRequestId);
                if (status >= 400)
                {
                    span.Fail(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            var milliseconds = elapsed.TotalMilliseconds;
            LogCall(method, path, status, milliseconds, amoRequestId);
            return response;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.AmoRequest(endpoint, method, "error", elapsed);
            var milliseconds = elapsed.TotalMilliseconds;
            var error = ex.GetType().Name;
            span.Fail(error);
            LogCallFailed(method, path, milliseconds, error);
            throw;
        }
    }

    // Numeric segments become {id}, so a pipeline or lead id never becomes a label value.
    internal static string Endpoint(string path) => NumericSegment().Replace(path.TrimEnd('/'), "/{id}");

    [GeneratedRegex("/[0-9]+(?=/|$)")]
    private static partial Regex NumericSegment();

    [LoggerMessage(Level = LogLevel.Information, Message = "amoCRM {Method} {AmoPath} answered {Status} in {ElapsedMs:0.0} ms (amoCRM request id {AmoRequestId})")]
    private partial void LogCall(string method, string amoPath, int status, double elapsedMs, string amoRequestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "amoCRM {Method} {AmoPath} got no answer after {ElapsedMs:0.0} ms: {Error}")]
    private partial void LogCallFailed(string method, string amoPath, double elapsedMs, string error);
}
