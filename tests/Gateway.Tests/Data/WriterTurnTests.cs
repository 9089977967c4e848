using Emulator;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Data;

// SQLite has one writer: the outbox's writers take turns in the process instead of sleeping in SQLite's busy handler.
// PostgreSQL's writers run side by side.
public sealed class WriterTurnTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_writer_waits_for_the_one_before_it_on_SQLite_and_goes_on_once_that_one_is_disposed()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var database = app.Get<Database>();
        var none = CancellationToken.None;

        var first = await database.OpenWriterAsync(none);
        var second = database.OpenWriterAsync(none);
        await using (var reader = await database.OpenAsync(none))
        {
            Assert.Equal(1, await Sql.ScalarInt64Async(reader, "SELECT 1", null, [], none));
        }

        if (database.IsPostgres)
        {
            await using var beside = await second.WaitAsync(Patience, TimeProvider.System);
            await first.DisposeAsync();
            return;
        }

        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        var next = await second.WaitAsync(Patience, TimeProvider.System);
        var third = database.OpenWriterAsync(none);
        Assert.False(third.IsCompleted);
        await next.DisposeAsync();
        await using var last = await third.WaitAsync(Patience, TimeProvider.System);
        Assert.Equal(1, await Sql.ScalarInt64Async(last, "SELECT 1", null, [], none));
    }
}
