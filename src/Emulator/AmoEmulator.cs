using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Emulator;

// The emulator hosted in-process on a real loopback port, for tests and end-to-end runs.
public sealed class AmoEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private AmoEmulator(WebApplication app, Uri baseUrl, EmulatorOptions options, EmulatorState state, HookState hooks)
    {
        Hooks = hooks;
        _app = app;
        BaseUrl = baseUrl;
        Options = options;
        State = state;
    }

    public Uri BaseUrl { get; }

    public EmulatorOptions Options { get; }

    public EmulatorState State { get; }

    // amoCRM's webhooks out, the Telegram stand-in and the recording sinks.
    public HookState Hooks { get; }

    public static async Task<AmoEmulator> StartAsync(EmulatorOptions? options = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmulatorOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(AmoEmulator).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });

        // Nothing from the test process (appsettings.json of the app under test, ASPNETCORE_URLS, Logging levels) leaks in.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddEmulator(options, time ?? TimeProvider.System);

        var app = builder.Build();
        app.MapEmulator();
        try
        {
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new AmoEmulator(app, new Uri(address), options, app.Services.GetRequiredService<EmulatorState>(), app.Services.GetRequiredService<HookState>());
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
