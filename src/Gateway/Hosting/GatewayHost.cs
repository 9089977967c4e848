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

    // app.RunAsync(), except after a failed start: what had started is stopped before the host is disposed (disposing
    // running background services logs "BackgroundService failed" for each), and a failure to listen names its addresses.
    public static async Task RunAsync(WebApplication app)
    {
        await using (app)
        {
            try
            {
                await app.StartAsync();
            }
            catch (Exception ex)
            {
                await StopAfterFailedStartAsync(app);
                if (StartupFailure.ListenProblem(ex, ListenAddresses(app.Configuration)) is { } problem)
                {
                    throw new StartupProblemException(problem, ex);
                }

                throw;
            }

            await app.WaitForShutdownAsync();
        }
    }

    private static async Task StopAfterFailedStartAsync(WebApplication app)
    {
        try
        {
            await app.StopAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The start's own failure is the one to report.
        }
    }

    private static string ListenAddresses(IConfiguration configuration) =>
        configuration["urls"] is { Length: > 0 } urls ? urls
        : configuration["http_ports"] is { Length: > 0 } ports ? "port " + ports
        : "the configured addresses";
}
