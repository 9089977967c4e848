namespace Gateway.Hosting;

internal sealed class GatewayOptions : FlatOptions
{
    public const string SectionName = "Gateway";

    public string ApiKey { get; set; } = "";

    public string DataDir { get; set; } = "./storage";

    // "*" (the old gateway's answer) or a list of exact origins.
    public IReadOnlyList<string> CorsAllowedOrigins { get; set; } = ["*"];

    public bool LogErrors { get; set; }

    public string DataDirFullPath => Path.GetFullPath(DataDir);
}

internal sealed class GatewayOptionsSetup(IConfiguration configuration) : Microsoft.Extensions.Options.IConfigureOptions<GatewayOptions>
{
    public void Configure(GatewayOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        options.ApiKey = env.Get("API_KEY") ?? options.ApiKey;
        options.DataDir = env.Get("DATA_DIR") ?? options.DataDir;
        options.LogErrors = env.GetBool("LOG_ERRORS") ?? options.LogErrors;
        if (env.Get("CORS_ALLOWED_ORIGINS") is { } origins)
        {
            options.CorsAllowedOrigins = origins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }
}

// The "ApiKey: " prefixes are what the data-annotation validator used to print; kept so the start-up line reads as before.
internal sealed class GatewayOptionsValidator : FlatOptionsValidator<GatewayOptions>
{
    protected override void Check(GatewayOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add("ApiKey: API_KEY is required (the key callers send in X-API-KEY)");
        }
        else if (options.ApiKey.Length < 8)
        {
            failures.Add("ApiKey: API_KEY must be at least 8 characters long");
        }

        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            failures.Add("DataDir: DATA_DIR must not be empty");
        }
    }
}
