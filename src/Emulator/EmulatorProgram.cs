namespace Emulator;

// Not top-level statements: test projects reference both this and the gateway, which owns the global Program class.
public static partial class EmulatorProgram
{
    private const string DefaultUrl = "http://127.0.0.1:9096";

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var options = EmulatorOptions.FromConfiguration(builder.Configuration);
        builder.Services.AddEmulator(options, TimeProvider.System);

        var app = builder.Build();
        app.MapEmulator();
        await app.StartAsync();

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Emulator");
        foreach (var url in app.Urls)
        {
            LogStarted(logger, url, options.ClientId, options.RedirectUri, options.RateLimitPerSecond);
        }

        await app.WaitForShutdownAsync();
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "amoCRM emulator on {Url}: client_id {ClientId}, redirect_uri {RedirectUri}, rate limit {RateLimit}/s (0 = off). POST /_emulator/tokens for a token pair.")]
    private static partial void LogStarted(ILogger logger, string url, string clientId, string redirectUri, int rateLimit);
}
