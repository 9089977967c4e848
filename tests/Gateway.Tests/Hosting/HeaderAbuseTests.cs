using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Hosting;

// Against a real Kestrel: header limits and raw bytes that HttpClient would refuse to send.
[Trait("Kind", "Process")]
public sealed class HeaderAbuseTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static async Task<int> RawStatusAsync(Uri baseUrl, byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseUrl.Host, baseUrl.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request);
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var statusLine = Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Get(string path, params byte[][] headerLines)
    {
        var request = new List<byte>();
        request.AddRange(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"));
        foreach (var line in headerLines)
        {
            request.AddRange(line);
            request.AddRange("\r\n"u8.ToArray());
        }

        request.AddRange("\r\n"u8.ToArray());
        return [.. request];
    }

    private static byte[] Key(params byte[] value) => [.. "X-API-KEY: "u8.ToArray(), .. value];

    public static TheoryData<string> Cases() => ["huge-header", "many-headers", "non-ascii-key", "latin1-key", "control-char-key", "nul-key", "key-with-inner-space", "key-padded-with-spaces", "empty-key", "two-keys", "folded-key", "key-as-percent-encoding"];

    private static byte[] Request(string kind, string key) => kind switch
    {
        "huge-header" => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes(new string('k', 64 * 1024)))),
        "many-headers" => Get("/api/v1/diagnostics/config", [.. Enumerable.Range(0, 500).Select(i => Encoding.ASCII.GetBytes($"X-Noise-{i}: {i}"))]),
        "non-ascii-key" => Get("/api/v1/diagnostics/config", Key(Encoding.UTF8.GetBytes(key + "ключ"))),
        "latin1-key" => Get("/api/v1/diagnostics/config", Key([.. Encoding.ASCII.GetBytes(key), 0xE9, 0xFF])),
        "control-char-key" => Get("/api/v1/diagnostics/config", Key([.. Encoding.ASCII.GetBytes(key), 0x07, 0x1B])),
        "nul-key" => Get("/api/v1/diagnostics/config", Key([.. Encoding.ASCII.GetBytes(key), 0x00])),
        "key-with-inner-space" => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes(key[..4] + " " + key[4..]))),
        "key-padded-with-spaces" => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes("   " + key + " \t"))),
        "empty-key" => Get("/api/v1/diagnostics/config", Key()),
        "two-keys" => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes(key)), Key(Encoding.ASCII.GetBytes("wrong-key-123456"))),
        "folded-key" => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes(key[..4])), Encoding.ASCII.GetBytes(" " + key[4..])),
        _ => Get("/api/v1/diagnostics/config", Key(Encoding.ASCII.GetBytes(Uri.EscapeDataString(key + "/+=")))),
    };

    [Fact]
    public async Task Header_abuse_is_refused_without_a_500_and_the_gateway_keeps_working()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // The brake and the per-address limit are tested elsewhere; here every case must reach the gateway itself.
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "0", ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0" });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        var results = new List<string>();

        foreach (var kind in Cases())
        {
            var status = await RawStatusAsync(gateway.BaseUrl, Request(kind, GatewayApp.ApiKey));
            results.Add($"{kind}={status}");
            Assert.True(status is >= 400 and < 500 || (kind == "key-padded-with-spaces" && status == 200), $"{kind}: {status}");
        }

        output.WriteLine(string.Join(", ", results));
        Assert.Contains("huge-header=431", results);
        Assert.Contains("many-headers=431", results);
        using var client = gateway.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
    }

    [Fact]
    public async Task A_real_server_sends_no_Server_header_and_the_security_headers()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo);
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = new HttpClient { BaseAddress = gateway.BaseUrl };

        var response = await client.GetAsync("/health");

        Assert.False(response.Headers.Contains("Server"));
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Theory]
    [InlineData("""{"keys":[{"name":"site","sha256":"abc"}]}""", "keys[0].sha256")]
    [InlineData(null, "does not exist")]
    public async Task A_bad_keys_file_stops_the_process_with_one_line_naming_the_file(string? content, string problem)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo);
        var keysFile = Path.Combine(dir, "my-keys.json");
        if (content is not null)
        {
            await File.WriteAllTextAsync(keysFile, content);
        }

        environment["API_KEYS_FILE"] = keysFile;
        var info = GatewayProcess.StartInfo(["--urls", "http://127.0.0.1:0"], environment, dir);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single((await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Configuration error: API_KEYS_FILE", line, StringComparison.Ordinal);
        Assert.Contains(keysFile, line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }
}
