namespace Gateway.Hosting;

internal static class GatewayHost
{
    public const string DefaultUrl = "http://0.0.0.0:9095";

    // appsettings.json ships beside the binary; .env, DATA_DIR and the tokens file are relative to where it was started.
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddDotEnv(Environment.GetEnvironmentVariable("ENV_FILE") ?? Path.Combine(Directory.GetCurrentDirectory(), ".env"));
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        return builder;
    }
}
