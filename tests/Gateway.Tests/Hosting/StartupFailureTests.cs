using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Tests.Infrastructure;
using Npgsql;

namespace Gateway.Tests.Hosting;

// What an operator sees when the gateway cannot start: one line on stderr saying what failed and how to fix it,
// a non-zero exit, no stack trace, no secret; LOG_LEVEL=debug adds the detail.
public sealed class StartupFailureTests
{
    private const string Password = "secret-db-password-123";

    [Theory]
    [Trait("Kind", "Process")]
    [InlineData("json")]
    [InlineData("text")]
    public async Task A_port_in_use_stops_startup_with_one_line_naming_the_address(string format)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var run = await RunAsync(new() { ["LOG_FORMAT"] = format }, url);

        var line = AssertOneLine(run);
        Assert.StartsWith("Cannot start: cannot listen on " + url + ": the port is in use", line, StringComparison.Ordinal);
        Assert.Contains("--urls or ASPNETCORE_URLS", line, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("Kind", "Process")]
    [InlineData("a file", "it is a file, not a directory")]
    [InlineData("below a file", "a part of its path is a file")]
    [InlineData("unwritable", "permission denied")]
    public async Task A_data_dir_that_cannot_be_written_stops_startup_with_one_line_naming_it(string what, string reason)
    {
        var parent = Directory.CreateTempSubdirectory("gateway-datadir-").FullName;
        var file = Path.Combine(parent, "not-a-directory");
        await File.WriteAllTextAsync(file, "");
        var dataDir = what switch
        {
            "a file" => file,
            "below a file" => Path.Combine(file, "data"),
            // Modes do not stop root (containers often run tests as root), but sysfs takes no new directory from anyone.
            _ when Environment.IsPrivilegedProcess => "/sys/gateway-data-test",
            _ => ReadOnlyDirectory(Path.Combine(parent, "read-only")),
        };

        var run = await RunAsync(new() { ["DATA_DIR"] = dataDir });

        var line = AssertOneLine(run);
        Assert.StartsWith($"Cannot start: DATA_DIR {dataDir} cannot be used (", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.EndsWith("or point DATA_DIR elsewhere", line, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task An_unparseable_DATABASE_URL_stops_startup_with_one_line_without_its_password()
    {
        var run = await RunAsync(new() { ["DATABASE_URL"] = $"postgres://gateway:{Password}@" });

        var line = AssertOneLine(run);
        Assert.Equal("Configuration error: DATABASE_URL is not a valid postgres://user:password@host:port/database URL", line);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task An_unreachable_database_stops_startup_with_one_line_naming_the_server()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var run = await RunAsync(new() { ["DATABASE_URL"] = $"postgres://gateway:{Password}@127.0.0.1:{closedPort}/gateway" });

        var line = AssertOneLine(run);
        Assert.Equal($"Cannot start: PostgreSQL at 127.0.0.1:{closedPort} refused the connection; is PostgreSQL running there, and are the host and port in DATABASE_URL right?", line);
    }

    [Theory]
    [Trait("Kind", "Process")]
    [InlineData("information")]
    [InlineData("debug")]
    public async Task A_wrong_database_password_stops_startup_with_one_line_and_never_prints_the_password(string level)
    {
        // The test server itself on the PostgreSQL run; elsewhere a stand-in answering as PostgreSQL does to a wrong password.
        await using var standIn = TestDatabase.IsPostgres ? null : FakePostgres.Start("28P01", "password authentication failed for user \"gateway\"");
        var server = standIn?.ConnectionString ?? TestDatabase.SettingsFor(Directory.CreateTempSubdirectory("gateway-pg-").FullName)["DATABASE_URL"]!;
        var wrong = new NpgsqlConnectionStringBuilder(server) { Password = Password };

        var run = await RunAsync(new() { ["DATABASE_URL"] = wrong.ConnectionString, ["LOG_LEVEL"] = level });

        var expected = $"Cannot start: PostgreSQL at {wrong.Host}:{wrong.Port} refused user {wrong.Username}: wrong password; correct the password in DATABASE_URL";
        Assert.DoesNotContain(Password, run.StdOut + run.StdErr, StringComparison.Ordinal);
        if (level == "debug")
        {
            // The detail is logged (the server's own error among it), and the line still comes last, on stderr.
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("28P01", run.StdOut, StringComparison.Ordinal);
            Assert.Equal(expected, run.StdErr.Trim());
            return;
        }

        Assert.Equal(expected, AssertOneLine(run));
    }

    private sealed record Run(int ExitCode, string StdOut, string StdErr);

    // Exit code 1, and stdout and stderr together hold exactly one non-empty line: on stderr, with no stack frame.
    private static string AssertOneLine(Run run)
    {
        var output = run.StdOut + run.StdErr;
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
        Assert.True(lines.Count == 1, $"expected one line, got {lines.Count}:\n{string.Join("\n", lines)}");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(lines[0], run.StdErr.Trim());
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        return lines[0];
    }

    private static async Task<Run> RunAsync(Dictionary<string, string?> settings, string url = "http://127.0.0.1:0")
    {
        var dir = Directory.CreateTempSubdirectory("gateway-startup-").FullName;
        var environment = new Dictionary<string, string?>
        {
            ["API_KEY"] = GatewayApp.ApiKey,
            ["AMO_DOMAIN"] = GatewayApp.Domain,
            ["AMO_CLIENT_ID"] = "client-id-123",
            ["AMO_CLIENT_SECRET"] = "very-secret-client-secret",
            ["AMO_REDIRECT_URI"] = "https://gw.example.uz/oauth/callback",
            ["DATA_DIR"] = Path.Combine(dir, "data"),
            // The defaults an operator gets, whatever the test process has.
            ["LOG_LEVEL"] = null,
            ["LOG_FORMAT"] = null,
            ["LOG_ERRORS"] = null,
            ["DATABASE_URL"] = null,
        };
        foreach (var (key, value) in TestDatabase.SettingsFor(dir).Concat(settings))
        {
            environment[key] = value;
        }

        var info = GatewayProcess.StartInfo(["--urls", url], environment, dir);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return new Run(process.ExitCode, await stdout, await stderr);
    }

    private static string ReadOnlyDirectory(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        return Path.Combine(path, "data");
    }

    // Just enough of PostgreSQL's wire protocol to refuse a connection: "no TLS", then the error a real server sends.
    private sealed class FakePostgres : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly Task serving;

        private FakePostgres(TcpListener listener, string sqlState, string message)
        {
            this.listener = listener;
            serving = ServeAsync(sqlState, message);
        }

        public string ConnectionString => $"Host=127.0.0.1;Port={((IPEndPoint)listener.LocalEndpoint).Port};Username=gateway;Password=unused;Database=gateway_test";

        public static FakePostgres Start(string sqlState, string message)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new FakePostgres(listener, sqlState, message);
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            await serving.ContinueWith(_ => { }, TaskScheduler.Default);
            listener.Dispose();
        }

        private async Task ServeAsync(string sqlState, string message)
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                try
                {
                    // SSLRequest and GSSENCRequest get "N"; the startup message that follows gets the error.
                    while (true)
                    {
                        var header = new byte[8];
                        await stream.ReadExactlyAsync(header);
                        var length = BinaryPrimitives.ReadInt32BigEndian(header);
                        var code = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
                        await stream.ReadExactlyAsync(new byte[length - 8]);
                        if (code is not (80877103 or 80877104))
                        {
                            break;
                        }

                        await stream.WriteAsync("N"u8.ToArray());
                    }

                    var fields = Encoding.UTF8.GetBytes($"SFATAL\0VFATAL\0C{sqlState}\0M{message}\0\0");
                    var error = new byte[5 + fields.Length];
                    error[0] = (byte)'E';
                    BinaryPrimitives.WriteInt32BigEndian(error.AsSpan(1), 4 + fields.Length);
                    fields.CopyTo(error, 5);
                    await stream.WriteAsync(error);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
