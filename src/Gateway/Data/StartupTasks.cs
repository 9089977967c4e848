using Gateway.Amo;
using Gateway.Configuration;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Gateway.Data;

// Runs before the server accepts requests: schema, encryption key, token migration.
internal sealed partial class StartupTasks(
    Schema schema,
    IDataProtectionProvider protection,
    TokenImporter importer,
    IOptions<GatewayOptions> options,
    ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await schema.MigrateAsync(cancellationToken);
        await EnsureKeyRingAsync(cancellationToken);
        var import = await importer.ImportConfiguredAsync(cancellationToken);
        LogReady(options.Value.DataDirFullPath, import.Message);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Two processes starting together must not each mint a first key: the first one writes it under a file lock.
    private async Task EnsureKeyRingAsync(CancellationToken cancellationToken)
    {
        var keys = Path.Combine(options.Value.DataDirFullPath, "keys");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var lockFile = new FileStream(Path.Combine(keys, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                protection.CreateProtector("Gateway.Startup").Protect("probe"u8.ToArray());
                break;
            }
            catch (IOException) when (attempt < 200)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
        }

        foreach (var file in Directory.EnumerateFiles(keys))
        {
            DataDirectory.RestrictFile(file);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Data directory {DataDir} ready; tokens: {ImportResult}")]
    private partial void LogReady(string dataDir, string importResult);
}
