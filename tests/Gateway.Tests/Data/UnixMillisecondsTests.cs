using Dapper;
using Emulator;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Data;

// Every time column holds Unix milliseconds; DateTimeOffset values cross into and out of the database through one handler.
public sealed class UnixMillisecondsTests
{
    private sealed record Row(long Id, DateTimeOffset At, DateTimeOffset? Maybe);

    [Fact]
    public async Task A_DateTimeOffset_parameter_is_stored_as_milliseconds_and_read_back_from_them()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var database = app.Get<Database>();
        var at = new DateTimeOffset(2025, 3, 1, 12, 0, 0, 123, TimeSpan.FromHours(3));

        await using var connection = await database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("CREATE TEMPORARY TABLE times (id BIGINT NOT NULL, at BIGINT NOT NULL, maybe BIGINT NULL)");
        await connection.ExecuteAsync("INSERT INTO times (id, at, maybe) VALUES (1, @at, @maybe), (2, @at, @none)", new { at, maybe = (DateTimeOffset?)at.AddSeconds(1), none = (DateTimeOffset?)null });

        Assert.Equal([at.ToUnixTimeMilliseconds(), at.ToUnixTimeMilliseconds()], await connection.QueryAsync<long>("SELECT at FROM times ORDER BY id"));
        // A comparison is where a timestamp-typed parameter would fail on PostgreSQL and compare as text on SQLite.
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM times WHERE at <= @at AND at > @before", new { at, before = at.AddMilliseconds(-1) }));
        var rows = (await connection.QueryAsync<Row>("SELECT id, at, maybe FROM times ORDER BY id")).ToList();
        Assert.Equal(new Row(1, at, at.AddSeconds(1)), rows[0]);
        Assert.Equal(new Row(2, at, null), rows[1]);
        Assert.Equal(TimeSpan.Zero, rows[0].At.Offset);
    }

    [Fact]
    public void Applying_the_conventions_again_for_another_host_changes_nothing()
    {
        DapperConventions.Apply();
        DapperConventions.Apply();

        Assert.True(DefaultTypeMap.MatchNamesWithUnderscores);
    }
}
