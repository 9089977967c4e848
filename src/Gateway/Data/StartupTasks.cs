using Gateway.Amo.Tokens;
using Gateway.Hosting;
using Gateway.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Gateway.Data;

// Runs before the server accepts requests: schema, encryption key, token migration.
internal sealed partial class StartupTasks(
    Schema schema,
    IDataProtectionProvider protection,
    KeyRing keyRing,
    PersonalData personalData,
    Accounts.StoredAccounts storedAccounts,
    StoredApiKeys storedKeys,
    Sources.StoredSourceProfiles storedProfiles,
    TokenImporter importer,
    Database database,
    LeaseStore leases,
    IOptions<GatewayOptions> options,
    IOptions<DatabaseOptions> databaseOptions,
    IHostApplicationLifetime lifetime,
    ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await schema.MigrateAsync(cancellationToken);
            await EnsureKeyRingAsync(cancellationToken);
            await personalData.InitializeAsync(cancellationToken);
            // Decrypted only now that the key ring is known to be the right one.
            await storedAccounts.LoadAsync(cancellationToken);
            await storedKeys.LoadAsync(cancellationToken);
            await storedProfiles.LoadAsync(cancellationToken);
        }
        catch (Exception ex) when (DatabaseFailure.Describe(ex, database, databaseOptions.Value.PostgresConnectionString) is { } problem)
        {
            throw new StartupProblemException(problem, ex);
        }

        var import = await importer.ImportConfiguredAsync(cancellationToken);
        // Said once the server listens, so that a start failing after this step prints only what failed.
        lifetime.ApplicationStarted.Register(() =>
        {
            keyRing.WarnIfUnencrypted();
            LogReady(database.Name, options.Value.DataDirFullPath, import.Message);
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Two processes starting together must not each mint a first key: the first one writes it under a lock.
    private async Task EnsureKeyRingAsync(CancellationToken cancellationToken)
    {
        if (database.IsPostgres)
        {
            await using var held = await leases.AcquireAsync("data-protection-key-ring", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), cancellationToken);
            keyRing.Prepare();
            protection.CreateProtector("Gateway.Startup").Protect("probe"u8.ToArray());
            return;
        }

        var keys = keyRing.Directory;
        DataDirectory.Ensure(keys);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var lockFile = new FileStream(Path.Combine(keys, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                keyRing.Prepare();
                protection.CreateProtector("Gateway.Startup").Protect("probe"u8.ToArray());
                break;
            }
            catch (IOException) when (attempt < 200)
            {
                // Another process holds the lock for a moment: a real wait, even when a test fakes the app's clock.
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, cancellationToken);
            }
        }

        foreach (var file in Directory.EnumerateFiles(keys))
        {
            DataDirectory.RestrictFile(file);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {Database} ready, data directory {DataDir}; tokens: {ImportResult}")]
    private partial void LogReady(string database, string dataDir, string importResult);
}
