using Gateway.Amo;
using Gateway.Amo.Consent;
using Gateway.Cli;
using Gateway.Hosting;
using Gateway.Leads;
using Gateway.Observability;
using Gateway.Operations;

if (Gateway.Security.ApiKeysCli.IsCommand(args))
{
    return await Gateway.Security.ApiKeysCli.RunAsync(args, Console.Out, Console.Error);
}

var command = GatewayCli.IsCommand(args) ? args : null;
// appsettings.json ships beside the binary; .env, DATA_DIR and the tokens file are relative to where it was started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = command is null ? args : [], ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddDotEnv(Environment.GetEnvironmentVariable("ENV_FILE") ?? Path.Combine(Directory.GetCurrentDirectory(), ".env"));
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://0.0.0.0:9095");
}

builder.Services.AddGatewayCore();
builder.Services.AddGatewayFeatures();

try
{
    var app = builder.Build();
    if (command is not null)
    {
        return await GatewayCli.RunAsync(app.Services, command);
    }

    app.UseGatewayPipeline();
    app.MapHealth();
    app.MapOAuth();
    app.MapInfo();
    app.MapLeads();
    app.MapDiagnostics();
    app.MapObservability();
    await app.RunAsync();
    return 0;
}
// Only as its own process: a test host wants the exception itself, not an exit code.
catch (Exception ex) when (StartupFailure.Describe(ex) is { } problem && System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly)
{
    // One clear line naming the setting, no stack trace, no secret.
    await Console.Error.WriteLineAsync($"Configuration error: {problem}");
    return 1;
}
