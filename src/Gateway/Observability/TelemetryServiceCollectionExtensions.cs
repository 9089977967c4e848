using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Observability;

// OpenTelemetry: the Gateway meter and the framework's standard instruments (ASP.NET Core, HttpClient, runtime) behind
// /metrics; traces and OTLP export only when an OTLP endpoint is configured with the standard OTEL_* variables.
// Nothing leaves the process by default.
internal static class TelemetryServiceCollectionExtensions
{
    public const string DefaultServiceName = "amocrm-gateway";

    // Decided at registration: an exporter is a provider's part, not an option a running provider can take on.
    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var export = OtlpExport.From(configuration);
        services.AddSingleton(export);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : DefaultServiceName));

        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(GatewayMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter(prometheus =>
                {
                    // Every scrape reads the outbox afresh (as it always did), and label sets stay what dashboards know.
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    prometheus.ScopeInfoEnabled = false;
                });
            if (export.Metrics)
            {
                metrics.AddOtlpExporter();
            }
        });

        // This host's meters only (its IMeterFactory scopes them), beside the process-wide ones (the runtime's): hosts
        // sharing a process, as the tests' do, each serve their own counts, as the hand-written collector did.
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) =>
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, factory) ? null : MetricStreamConfiguration.Drop);
        });

        // Always described, built only when something records spans (OTLP here, an in-memory exporter in tests).
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
            .AddSource(GatewayTracing.SourceNames)
            .AddAspNetCoreInstrumentation(aspNetCore =>
            {
                // Probes and scrapes would bury the leads' traces.
                aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal)
                    && !context.Request.Path.StartsWithSegments("/metrics", StringComparison.Ordinal);
                aspNetCore.EnrichWithHttpRequest = static (activity, request) =>
                {
                    // A form hook's key is in its URL: the span keeps the route only.
                    if (request.Path.StartsWithSegments("/hooks", StringComparison.OrdinalIgnoreCase))
                    {
                        activity.SetTag("url.path", Sources.HookKeyInPath.Redact(request.Path.Value ?? ""));
                    }

                    // A caller's address is personal data here (it is sealed at rest with the lead).
                    activity.SetTag("client.address", null);
                    activity.SetTag("network.peer.address", null);
                    // amoCRM's webhook path holds the account's secret.
                    if (request.Path.StartsWithSegments("/hooks", StringComparison.Ordinal))
                    {
                        activity.SetTag("url.path", "/hooks/…");
                    }
                };
            }));
        if (export.Traces)
        {
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter());
        }

        if (export.Logs)
        {
            telemetry.WithLogging(logging => logging.AddOtlpExporter(), options => options.IncludeScopes = true);
        }

        return services;
    }
}

// Which signals go to an OTLP endpoint: the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT for all, or the
// per-signal OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT; OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none turns one off;
// OTEL_SDK_DISABLED=true turns all off).
internal sealed record OtlpExport(bool Traces, bool Metrics, bool Logs)
{
    public static OtlpExport From(IConfiguration configuration)
    {
        if (string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return new(false, false, false);
        }

        var all = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 };
        bool On(string signal) =>
            (all || configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"] is { Length: > 0 })
            && !string.Equals(configuration[$"OTEL_{signal}_EXPORTER"], "none", StringComparison.OrdinalIgnoreCase);
        return new(On("TRACES"), On("METRICS"), On("LOGS"));
    }
}
