using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Gateway.Data;

// How every store's SQL meets the database: named parameters bound by hand, rows read by the record they fill
// (its static Read), times as Unix milliseconds. Nothing is mapped by reflection, so a native build runs the same code.
internal static class Sql
{
    public static async Task<int> ExecuteAsync(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, transaction, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static Task<int> ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, sql, null, [], cancellationToken);

    // One command for a whole group of rows, run once per row inside the caller's transaction (what Dapper did with a list).
    public static async Task<int> ExecuteEachAsync<T>(DbConnection connection, string sql, DbTransaction? transaction, IEnumerable<T> items, Func<T, IReadOnlyList<SqlArg>> bind, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, transaction, []);
        var rows = 0;
        foreach (var item in items)
        {
            command.Parameters.Clear();
            AddParameters(command, bind(item));
            rows += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return rows;
    }

    // One statement for a whole group of rows, in chunks: `WITH v(columns) AS (VALUES (…), (…)) statement`, where the
    // statement reads the rows as `v` (an UPDATE … FROM v). One round trip and one plan per chunk instead of one per row,
    // which on PostgreSQL is most of a batch settlement's time. Each row's values come in the columns' order; a null
    // keeps its type (PostgreSQL types the VALUES columns from them).
    public static async Task<int> ExecuteValuesAsync<T>(
        DbConnection connection, string columns, string statement, DbTransaction? transaction, IReadOnlyList<T> items, Func<T, IReadOnlyList<SqlArg>> row,
        IReadOnlyList<SqlArg> shared, CancellationToken cancellationToken)
    {
        var rows = 0;
        var chunk = items.Count == 0 ? 1 : RowsPerStatement(connection, row(items[0]).Count);
        for (var start = 0; start < items.Count; start += chunk)
        {
            var values = new List<string>();
            var parameters = new List<SqlArg>(shared);
            for (var n = start; n < Math.Min(items.Count, start + chunk); n++)
            {
                var names = new List<string>();
                foreach (var (value, k) in row(items[n]).Select((v, k) => (v, k)))
                {
                    var name = $"v{n - start}_{k}";
                    names.Add("@" + name);
                    parameters.Add(value with { Name = name });
                }

                values.Add("(" + string.Join(", ", names) + ")");
            }

            rows += await ExecuteAsync(connection, $"WITH v({columns}) AS (VALUES {string.Join(", ", values)})\n{statement}", transaction, parameters, cancellationToken);
        }

        return rows;
    }

    // How many rows a multi-row statement carries. PostgreSQL: 500, one round trip for a whole group. SQLite is in the
    // process, so a statement costs no round trip, but binding one parameter scans the statement's parameter list
    // (sqlite3_bind_parameter_index), so a statement's binding grows with the square of its parameters: about 160 at a time.
    public static int RowsPerStatement(DbConnection connection, int parametersPerRow) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection ? Math.Max(1, 160 / Math.Max(1, parametersPerRow)) : 500;

    // Data Protection's key repository is synchronous.
    public static int Execute(DbConnection connection, string sql, IReadOnlyList<SqlArg> parameters)
    {
        using var command = Command(connection, sql, null, parameters);
        return command.ExecuteNonQuery();
    }

    public static async Task<object?> ScalarAsync(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, transaction, parameters);
        return await command.ExecuteScalarAsync(cancellationToken) is var value and not DBNull ? value : null;
    }

    // Counts and aggregates come back as int4, int8 or numeric depending on the database and the expression.
    public static async Task<long?> ScalarInt64Async(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, CancellationToken cancellationToken) =>
        await ScalarAsync(connection, sql, transaction, parameters, cancellationToken) is { } value ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : null;

    public static async Task<List<T>> QueryAsync<T>(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, transaction, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public static List<T> Query<T>(DbConnection connection, string sql, Func<DbDataReader, T> read)
    {
        using var command = Command(connection, sql, null, []);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    // Null when there is no row; more than one is a bug in the query, as it was with Dapper's QuerySingleOrDefault.
    public static async Task<T?> QuerySingleOrDefaultAsync<T>(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        await using var command = Command(connection, sql, transaction, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var row = read(reader);
        return await reader.ReadAsync(cancellationToken) ? throw new InvalidOperationException("The query returned more than one row") : row;
    }

    public static async Task<T> QuerySingleAsync<T>(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class =>
        await QuerySingleOrDefaultAsync(connection, sql, transaction, parameters, read, cancellationToken)
        ?? throw new InvalidOperationException("The query returned no row");

    // Row ids written into an IN (...) list: numbers only, so nothing a caller sent can reach the SQL text, and one
    // statement however many ids (a parameter each would be a new statement text for every count anyway).
    public static string IdList(IEnumerable<long> ids) => string.Join(", ", ids.Select(id => id.ToString(CultureInfo.InvariantCulture)));

    // The on-disk format of every time column: INTEGER/BIGINT milliseconds since the epoch, UTC. These two are the only
    // places a DateTimeOffset crosses into or out of the database.
    public static long ToUnixMilliseconds(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMilliseconds(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static string String(this DbDataReader reader, string column) => reader.GetString(reader.GetOrdinal(column));

    public static string? StringOrNull(this DbDataReader reader, string column) =>
        reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : reader.GetString(i);

    public static long Int64(this DbDataReader reader, string column) =>
        Convert.ToInt64(reader.GetValue(reader.GetOrdinal(column)), CultureInfo.InvariantCulture);

    public static long? Int64OrNull(this DbDataReader reader, string column) =>
        reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture);

    public static DateTimeOffset Time(this DbDataReader reader, string column) => FromUnixMilliseconds(reader.Int64(column));

    public static DateTimeOffset? TimeOrNull(this DbDataReader reader, string column) =>
        reader.Int64OrNull(column) is { } ms ? FromUnixMilliseconds(ms) : null;

    private static DbCommand Command(DbConnection connection, string sql, DbTransaction? transaction, IReadOnlyList<SqlArg> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        AddParameters(command, parameters);
        return command;
    }

    private static void AddParameters(DbCommand command, IReadOnlyList<SqlArg> parameters)
    {
        foreach (var argument in parameters)
        {
            var parameter = command.CreateParameter();
            // Given with its prefix: Microsoft.Data.Sqlite looks a bare name up four times (as it is, then with each of
            // ":", "@" and "$", to catch ambiguity), each a linear scan of the statement's parameters, which made a
            // 50-row settlement's 300 parameters cost more than its writes. Npgsql takes the name either way.
            parameter.ParameterName = "@" + argument.Name;
            parameter.DbType = argument.Type;
            parameter.Value = argument.Value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
    }
}

// A named parameter with its type, null or not: PostgreSQL cannot type a bare NULL in "@p IS NULL", so a null carries the
// type its value would have had (as Dapper took it from the property). Written as a tuple, ("account", account).
internal readonly record struct SqlArg(string Name, object? Value, DbType Type)
{
    public static implicit operator SqlArg((string Name, string? Value) p) => new(p.Name, p.Value, DbType.String);

    public static implicit operator SqlArg((string Name, long Value) p) => new(p.Name, p.Value, DbType.Int64);

    public static implicit operator SqlArg((string Name, long? Value) p) => new(p.Name, p.Value, DbType.Int64);

    public static implicit operator SqlArg((string Name, int Value) p) => new(p.Name, p.Value, DbType.Int32);

    public static implicit operator SqlArg((string Name, bool Value) p) => new(p.Name, p.Value, DbType.Boolean);

    public static implicit operator SqlArg((string Name, DateTimeOffset Value) p) => new(p.Name, Sql.ToUnixMilliseconds(p.Value), DbType.Int64);

    public static implicit operator SqlArg((string Name, DateTimeOffset? Value) p) =>
        new(p.Name, p.Value is { } value ? Sql.ToUnixMilliseconds(value) : null, DbType.Int64);
}
