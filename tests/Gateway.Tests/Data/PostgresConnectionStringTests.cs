using Gateway.Data;
using Npgsql;

namespace Gateway.Tests.Data;

public sealed class PostgresConnectionStringTests
{
    [Theory]
    [InlineData("postgres://gw:secret@db.example:5432/gateway")]
    [InlineData("Host=db.example;Username=gw;Password=secret;Database=gateway")]
    public void A_database_url_gets_a_small_pool_and_no_reset_on_return_unless_it_says_otherwise(string url)
    {
        var parsed = new NpgsqlConnectionStringBuilder(PostgresConnectionString.Parse(url, out var problem));

        Assert.Null(problem);
        Assert.Equal(16, parsed.MaxPoolSize);
        Assert.True(parsed.NoResetOnClose);
    }

    [Fact]
    public void An_explicit_pool_size_and_reset_setting_in_the_database_url_win()
    {
        var parsed = new NpgsqlConnectionStringBuilder(PostgresConnectionString.Parse(
            "Host=db.example;Username=gw;Password=secret;Database=gateway;Maximum Pool Size=40;No Reset On Close=false", out var problem));

        Assert.Null(problem);
        Assert.Equal(40, parsed.MaxPoolSize);
        Assert.False(parsed.NoResetOnClose);
    }
}
