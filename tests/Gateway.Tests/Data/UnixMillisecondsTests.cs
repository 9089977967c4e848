using System.Data.Common;
using Emulator;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Data;

// Every time column holds Unix milliseconds; DateTimeOffset values cross into and out of the database through one pair of functions.
public sealed class UnixMillisecondsTests
{
    private sealed record Row(long Id, DateTimeOffset At, DateTimeOffset? Maybe)
    {
        public static Row Read(DbDataReader reader) => new(reader.Int64("id"), reader.Time("at"), reader.TimeOrNull("maybe"));
    }

    [Fact]
    public async Task A_DateTimeOffset_parameter_is_stored_as_milliseconds_and_read_back_from_them()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var database = app.Get<Database>();
        var at = new DateTimeOffset(2025, 3, 1, 12, 0, 0, 123, TimeSpan.FromHours(3));
        var none = CancellationToken.None;

        await using var connection = await database.OpenAsync(none);
        await Sql.ExecuteAsync(connection, "CREATE TEMPORARY TABLE times (id BIGINT NOT NULL, at BIGINT NOT NULL, maybe BIGINT NULL)", none);
        await Sql.ExecuteAsync(
            connection,
            "INSERT INTO times (id, at, maybe) VALUES (1, @at, @maybe), (2, @at, @none)",
            null,
            [("at", at), ("maybe", (DateTimeOffset?)at.AddSeconds(1)), ("none", (DateTimeOffset?)null)],
            none);

        Assert.Equal([at.ToUnixTimeMilliseconds(), at.ToUnixTimeMilliseconds()], await Sql.QueryAsync(connection, "SELECT at FROM times ORDER BY id", null, [], r => r.GetInt64(0), none));
        Assert.Equal(1, await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM times WHERE maybe IS NULL", null, [], none));
        // A comparison is where a timestamp-typed parameter would fail on PostgreSQL and compare as text on SQLite.
        Assert.Equal(2, await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM times WHERE at <= @at AND at > @before", null, [("at", at), ("before", at.AddMilliseconds(-1))], none));
        var rows = await Sql.QueryAsync(connection, "SELECT id, at, maybe FROM times ORDER BY id", null, [], Row.Read, none);
        Assert.Equal(new Row(1, at, at.AddSeconds(1)), rows[0]);
        Assert.Equal(new Row(2, at, null), rows[1]);
        Assert.Equal(TimeSpan.Zero, rows[0].At.Offset);
    }
}
