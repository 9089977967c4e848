using Gateway.Hosting;
using Npgsql;

namespace Gateway.Data;

internal enum DatabaseKind
{
    Sqlite,
    Postgres,
}

internal sealed class DatabaseOptions : FlatOptions
{
    public DatabaseKind Kind { get; set; } = DatabaseKind.Sqlite;

    // Never shown: it holds the password.
    public string? PostgresConnectionString { get; set; }
}

// DATABASE_URL: unset is SQLite under DATA_DIR; a postgres:// URL (as hosting providers hand them out) or an Npgsql string is PostgreSQL.
internal sealed class DatabaseOptionsSetup(IConfiguration configuration) : Microsoft.Extensions.Options.IConfigureOptions<DatabaseOptions>
{
    public void Configure(DatabaseOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("DATABASE_URL") is not { } url)
        {
            return;
        }

        options.Kind = DatabaseKind.Postgres;
        options.PostgresConnectionString = PostgresConnectionString.Parse(url, out var problem);
        if (problem is not null)
        {
            env.Unreadable("DATABASE_URL", problem);
        }
    }
}

// DATABASE_URL's only checks are made while it is read (they need Npgsql's own parser); what failed is reported here.
internal sealed class DatabaseOptionsValidator : FlatOptionsValidator<DatabaseOptions>
{
    protected override void Check(DatabaseOptions options, List<string> failures)
    {
    }
}

internal static class PostgresConnectionString
{
    // Null with a problem (which never echoes the value: it carries the password) when DATABASE_URL cannot be used.
    public static string? Parse(string value, out string? problem)
    {
        var builder = value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            ? FromUrl(value, out problem)
            : FromKeywords(value, out problem);
        if (builder is null)
        {
            return null;
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            problem = "names no host";
            return null;
        }

        // Intake commits in groups, so a few connections carry thousands of leads a second; a small pool per instance
        // leaves PostgreSQL's max_connections (100 by default) to several instances. An explicit setting wins.
        if (!HasKeyword(value, "Maximum Pool Size", "MaxPoolSize"))
        {
            builder.MaxPoolSize = 16;
        }

        // Pooled connections carry no session state here (transaction-scoped advisory locks only: no SET, no temporary
        // table, no prepared statement; LISTEN has its own unpooled connection), so the DISCARD ALL Npgsql sends when one
        // is taken again is work for nothing: 16,000 of them in one ten-account bench run. An explicit setting wins.
        if (!HasKeyword(value, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    private static bool HasKeyword(string value, params string[] names) =>
        names.Any(name => value.Contains(name, StringComparison.OrdinalIgnoreCase) || value.Contains(name.Replace(' ', '_'), StringComparison.OrdinalIgnoreCase));

    private static NpgsqlConnectionStringBuilder? FromKeywords(string value, out string? problem)
    {
        problem = null;
        try
        {
            return new NpgsqlConnectionStringBuilder(value);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            problem = "is neither a postgres://user:password@host:port/database URL nor an Npgsql connection string (Host=...;Database=...)";
            return null;
        }
    }

    private static NpgsqlConnectionStringBuilder? FromUrl(string value, out string? problem)
    {
        problem = null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            problem = "is not a valid postgres://user:password@host:port/database URL";
            return null;
        }

        var userInfo = uri.UserInfo.Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } database ? database : null,
            Username = userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : null,
            Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
        };

        // Query parameters are connection keywords: ?sslmode=require, ?search_path=gateway, ?maximum_pool_size=20 ...
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(parts[0]).Replace('_', ' ');
            var setting = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
            try
            {
                builder[key] = setting;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                problem = $"has an unknown or invalid parameter '{parts[0]}'";
                return null;
            }
        }

        return builder;
    }
}
