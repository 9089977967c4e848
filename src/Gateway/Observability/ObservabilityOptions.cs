using Gateway.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Gateway.Observability;

internal sealed class ObservabilityOptions : FlatOptions
{
    public const string SectionName = "Observability";

    // json: one JSON object per line (systemd, docker, log shippers); text: one readable line.
    public string LogFormat { get; set; } = "json";

    // Unset: appsettings.json's Logging section decides (Information).
    public LogLevel? LogLevel { get; set; }

    public bool MetricsEnabled { get; set; } = true;

    // A scrape-only credential for Prometheus (Authorization: Bearer …), so it need not hold the API key.
    public string? MetricsToken { get; set; }
}

internal sealed class ObservabilityOptionsSetup(IConfiguration configuration) : IConfigureOptions<ObservabilityOptions>
{
    public void Configure(ObservabilityOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        var format = env.Get("LOG_FORMAT")?.ToLowerInvariant();
        options.LogFormat = format switch
        {
            null => Console.IsOutputRedirected ? "json" : "text",
            "json" or "text" => format,
            _ => options.LogFormat,
        };
        if (format is not (null or "json" or "text"))
        {
            env.Unreadable("LOG_FORMAT", "must be json or text");
        }

        var level = env.Get("LOG_LEVEL")?.ToUpperInvariant();
        options.LogLevel = level switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFO" or "INFORMATION" => LogLevel.Information,
            "WARN" or "WARNING" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" => LogLevel.Critical,
            _ => null,
        };
        if (level is not null && options.LogLevel is null)
        {
            env.Unreadable("LOG_LEVEL", "must be one of trace, debug, information, warning, error, critical");
        }

        options.MetricsEnabled = env.GetBool("METRICS_ENABLED") ?? options.MetricsEnabled;
        options.MetricsToken = env.Get("METRICS_TOKEN");
    }
}

internal sealed class ObservabilityOptionsValidator : FlatOptionsValidator<ObservabilityOptions>
{
    protected override void Check(ObservabilityOptions options, List<string> failures)
    {
        if (options.MetricsToken is { Length: < 16 })
        {
            failures.Add("METRICS_TOKEN must be at least 16 characters long");
        }
    }
}

// Console lines carry their scopes, so every line written during a request names its request id.
internal sealed class ConsoleLoggingSetup(IOptions<ObservabilityOptions> options) :
    IConfigureOptions<ConsoleLoggerOptions>, IConfigureOptions<JsonConsoleFormatterOptions>, IConfigureOptions<SimpleConsoleFormatterOptions>, IConfigureOptions<LoggerFilterOptions>
{
    private const string Timestamp = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";

    public void Configure(ConsoleLoggerOptions console) =>
        console.FormatterName = options.Value.LogFormat == "json" ? GatewayConsoleFormatter.Json : GatewayConsoleFormatter.Text;

    public void Configure(JsonConsoleFormatterOptions json)
    {
        json.IncludeScopes = true;
        json.UseUtcTimestamp = true;
        json.TimestampFormat = Timestamp.TrimEnd();
    }

    public void Configure(SimpleConsoleFormatterOptions text)
    {
        text.IncludeScopes = true;
        text.SingleLine = true;
        text.UseUtcTimestamp = true;
        text.TimestampFormat = Timestamp;
    }

    // Added after appsettings.json's rules, so LOG_LEVEL wins over its Default; named categories keep their own levels.
    public void Configure(LoggerFilterOptions filters)
    {
        if (options.Value.LogLevel is { } level)
        {
            filters.Rules.Add(new LoggerFilterRule(null, null, level, null));
        }
    }
}
