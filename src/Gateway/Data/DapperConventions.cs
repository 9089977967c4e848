using System.Data;
using Dapper;

namespace Gateway.Data;

// How every store's rows and parameters meet the database: snake_case columns, times as Unix milliseconds.
internal static class DapperConventions
{
    private static int applied;

    // Idempotent: every host (and a test builds many) calls it as it opens its database.
    public static void Apply()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1)
        {
            return;
        }

        DefaultTypeMap.MatchNamesWithUnderscores = true;
        // Dapper maps DateTimeOffset natively and, for parameters, consults its own map before any handler:
        // without removing it, a DateTimeOffset parameter would reach the driver as a timestamp, not as milliseconds.
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
        SqlMapper.AddTypeHandler(new UnixMillisecondsHandler());
    }

    // The on-disk format of every time column: INTEGER/BIGINT milliseconds since the epoch, UTC.
    private sealed class UnixMillisecondsHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            parameter.DbType = DbType.Int64;
            parameter.Value = value.ToUnixTimeMilliseconds();
        }

        public override DateTimeOffset Parse(object value) =>
            DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
