#if !POSTGRES
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Cli;

// Issue 18: `dotnet run --project src/Gateway -- demo` — a newcomer's gateway with the emulator, connected, in one command.
// The demo is the JIT build's (the emulator runs beside it), so this runs `dotnet Gateway.dll` even when CI names a native executable.
public sealed class DemoCommandTests
{
    [Fact]
    public async Task The_demo_prints_a_console_address_password_and_lead_key_and_a_lead_posted_with_that_key_is_found_in_the_console_api()
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Gateway.dll"), "demo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            WorkingDirectory = Directory.CreateTempSubdirectory("gateway-demo-test-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in new[] { "API_KEY", "AMO_DOMAIN", "DATA_DIR", "DATABASE_URL", "ADMIN_PASSWORD", "ACCOUNTS_FILE", "API_KEYS_FILE", "ENV_FILE" })
        {
            info.Environment.Remove(name);
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                if (e.Data?.StartsWith("DEMO curl:", StringComparison.Ordinal) == true)
                {
                    printed.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await printed.Task.WaitAsync(TimeSpan.FromSeconds(90));
            string text;
            lock (output)
            {
                text = output.ToString();
            }

            string Line(string label) => text.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith(label, StringComparison.Ordinal))[label.Length..].Trim();
            var console = Line("DEMO console:");
            var leadKey = Line("DEMO lead key:");
            var adminKey = Line("DEMO admin key:");
            Assert.Equal($"http://127.0.0.1:{port}/admin", console);
            Assert.Matches("^[0-9a-f]{24}$", Line("DEMO password:"));
            Assert.Contains($"X-API-KEY: {leadKey}", Line("DEMO curl:"), StringComparison.Ordinal);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var post = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted")
            {
                Content = new StringContent("""{"lead":{"name":"Demo lead"},"contact":{"name":"Aziza Karimova","phone":"+998 90 123 45 67"}}""", Encoding.UTF8, "application/json"),
            };
            post.Headers.Add("X-API-KEY", leadKey);
            var created = await ApiAssert.SuccessDataAsync(await http.SendAsync(post));
            Assert.Equal("delivered", (string?)created["status"]);

            using var find = new HttpRequestMessage(HttpMethod.Get, "/api/v1/admin/leads?phone=901234567");
            find.Headers.Add("X-API-KEY", adminKey);
            var found = await ApiAssert.SuccessDataAsync(await http.SendAsync(find));
            Assert.Equal((long)created["id"]!, (long)found["leads"]![0]!["id"]!);
            Assert.Equal("demo-form", (string?)found["leads"]![0]!["source"]);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
#endif
