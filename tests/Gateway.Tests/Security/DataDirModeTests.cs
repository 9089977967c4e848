using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

public sealed class DataDirModeTests
{
    [Fact]
    public async Task Everything_under_DATA_DIR_is_owner_only_after_a_lead_round_trip()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);

        var entries = Directory.EnumerateFileSystemEntries(app.DataDir, "*", SearchOption.AllDirectories).Append(app.DataDir).ToList();
        var names = entries.Select(e => Path.GetRelativePath(app.DataDir, e)).ToList();
        // On PostgreSQL the database and the key ring live in the server; DATA_DIR itself must still be owner-only.
        if (!TestDatabase.IsPostgres)
        {
            Assert.Contains("gateway.db", names);
            Assert.Contains("gateway.db-wal", names);
            Assert.Contains("gateway.db-shm", names);
            Assert.Contains(names, n => n.StartsWith("keys" + Path.DirectorySeparatorChar + "key-", StringComparison.Ordinal));
        }

        var loose = entries
            .Select(e => (Entry: Path.GetRelativePath(app.DataDir, e), Mode: ModeOf(e)))
            .Where(e => (e.Mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
            .Select(e => $"{e.Entry} {e.Mode}")
            .ToList();
        Assert.True(loose.Count == 0, "readable by others: " + string.Join("; ", loose));
    }

    private static UnixFileMode ModeOf(string path) => OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(path);
}
