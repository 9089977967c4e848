using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Bench;

// An OTLP/HTTP endpoint that accepts everything and counts the spans it was sent: each span (and each link) opens with
// its trace id (field 1, 16 bytes) and span id (field 2, 8 bytes); a lead's spans have no links unless batched.
internal sealed class OtlpSink : IAsyncDisposable
{
    private readonly WebApplication app;
    private long spans;

    private OtlpSink(WebApplication app) => this.app = app;

    public Uri Url => new(app.Urls.First());

    public long Spans => Interlocked.Read(ref spans);

    // Traces only, so the table shows tracing's cost (metrics and logs export have their own, much smaller ones).
    public static Dictionary<string, string?> Tracing(Uri sink, string ratio) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_METRICS_EXPORTER"] = "none",
        ["OTEL_LOGS_EXPORTER"] = "none",
        ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
        ["OTEL_TRACES_SAMPLER_ARG"] = ratio,
    };

    public static async Task<OtlpSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sink = new OtlpSink(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            Interlocked.Add(ref sink.spans, CountSpans(body));
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return sink;
    }

    private static long CountSpans(byte[] body)
    {
        long count = 0;
        for (var i = 0; i + 19 < body.Length; i++)
        {
            if (body[i] == 0x0A && body[i + 1] == 0x10 && body[i + 18] == 0x12 && body[i + 19] == 0x08)
            {
                count++;
                i += 19;
            }
        }

        return count;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
