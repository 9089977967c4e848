using Gateway.Accounts;
using Gateway.AdminConsole;
using Gateway.Amo;
using Gateway.Amo.Consent;
using Gateway.Cli;
using Gateway.Events;
using Gateway.Hosting;
using Gateway.Leads;
using Gateway.Observability;
using Gateway.Operations;
using Gateway.Security;
using Gateway.Sources;

return await StartupFailure.ExitCodeOfAsync(async () => DemoCommand.IsCommand(args)
    ? await DemoCommand.RunAsync(args, Build, ServeAsync)
    : await GatewayCli.TryRunAsync(args, Build) ?? await ServeAsync(Build(args)));

static WebApplication Build(string[] args)
{
    var builder = GatewayHost.CreateBuilder(args);
    builder.Services.AddGatewayCore();
    builder.Services.AddGatewayTelemetry(builder.Configuration);
    builder.Services.AddGatewayFeatures();
    return builder.Build();
}

static async Task<int> ServeAsync(WebApplication app)
{
    app.UseGatewayPipeline();
    app.MapHealth();
    app.MapOAuth();
    app.MapInfo();
    app.MapLeads();
    app.MapHooks();
    app.MapSources();
    app.MapAdminSignIn();
    app.MapOperations();
    app.MapAccounts();
    app.MapApiKeys();
    app.MapConsole();
    app.MapAmoWebhooks();
    await GatewayHost.RunAsync(app);
    return 0;
}
