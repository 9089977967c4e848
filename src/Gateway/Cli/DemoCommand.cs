using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Cli;

// `dotnet run --project src/Gateway -- demo`: the gateway and the amoCRM emulator side by side on loopback ports, a
// throw-away SQLite data directory, a fresh admin password and lead key, and the demo account already connected through
// the emulator's (automatic) consent — a newcomer posts a lead and watches it in the console without an amoCRM account.
// The emulator runs as a child process of its own build (src/Emulator, built with the gateway's Debug build only): the
// gateway's assembly never references it, so the Native AOT product carries none of it.
internal static class DemoCommand
{
    public const string Verb = "demo";

    // Where the Debug build put the emulator (Gateway.csproj's AssemblyMetadata); tests run it from beside Gateway.dll.
    private const string EmulatorMetadata = "DemoEmulatorPath";

    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(string[] args, Func<string[], WebApplication> build, Func<WebApplication, Task<int>> serve)
    {
        if (FindEmulator() is not { } emulatorDll)
        {
            await Console.Error.WriteLineAsync("demo needs the amoCRM emulator, which only a Debug build from the repository has: run `dotnet run --project src/Gateway -- demo` in a clone.");
            return 2;
        }

        var dataDir = Directory.CreateTempSubdirectory("gateway-demo-").FullName;
        var gateway = $"http://127.0.0.1:{PortAfter(args, "--port") ?? FreePort(9095)}";
        var amo = $"http://127.0.0.1:{FreePort(9096)}";
        var password = Secret(12);
        var adminKey = Secret(16);
        var leadKey = Secret(16);
        File.WriteAllText(
            Path.Combine(dataDir, "api-keys.json"),
            $$"""{"keys":[{"name":"demo-form","sha256":"{{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(leadKey)))}}","scopes":["leads","read"]}]}""");

        using var emulator = StartEmulator(emulatorDll, amo, gateway + "/oauth/callback");
        try
        {
            await WaitForEmulatorAsync(amo, emulator);

            // The demo is its own world: no .env of the directory it was started in.
            Environment.SetEnvironmentVariable("ENV_FILE", Path.Combine(dataDir, "demo.env"));
            var app = build(
            [
                "--urls", gateway, "--DATA_DIR", dataDir, "--API_KEY", adminKey, "--ADMIN_PASSWORD", password,
                "--AMO_DOMAIN", "emulator.amocrm.ru", "--AMO_CLIENT_ID", "emulator-client-id", "--AMO_CLIENT_SECRET", "emulator-client-secret",
                "--AMO_REDIRECT_URI", gateway + "/oauth/callback", "--AMO_BASE_URL", amo, "--AMO_AUTH_URL", amo + "/oauth",
            ]);
            app.Lifetime.ApplicationStarted.Register(() => _ = ConnectAndPrintAsync(gateway, amo, dataDir, adminKey, password, leadKey));
            return await serve(app);
        }
        finally
        {
            if (!emulator.HasExited)
            {
                emulator.Kill(entireProcessTree: true);
            }
        }
    }

    // Consent as a person gives it, through the gateway's own /oauth/authorize (with the admin key) and the emulator's
    // automatic approval; the gateway's callback then checks the account's identity and stores the pair.
    private static async Task ConnectAndPrintAsync(string gateway, string amo, string dataDir, string adminKey, string password, string leadKey)
    {
        try
        {
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = new Uri(gateway) };
            using var authorize = new HttpRequestMessage(HttpMethod.Get, "/oauth/authorize");
            authorize.Headers.Add("X-API-KEY", adminKey);
            using var toAmo = await browser.SendAsync(authorize);
            using var consent = await browser.GetAsync(toAmo.Headers.Location);
            using var callback = await browser.GetAsync(new Uri(new Uri(gateway), consent.Headers.Location!.PathAndQuery));
            if (!callback.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"demo: connecting the emulator's account failed ({(int)callback.StatusCode})");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or UriFormatException)
        {
            await Console.Error.WriteLineAsync("demo: connecting the emulator's account failed: " + ex.Message);
        }

        var lead = """{"lead":{"name":"Demo lead"},"contact":{"name":"Aziza Karimova","phone":"+998 90 123 45 67"}}""";
        await Console.Out.WriteLineAsync($"""

            === amoCRM gateway demo (everything below lives in {dataDir} and is thrown away) ===
            DEMO console:  {gateway}/admin
            DEMO password: {password}
            DEMO lead key: {leadKey}
            DEMO admin key: {adminKey}
            DEMO amoCRM emulator: {amo} (account emulator.amocrm.ru, connected)
            DEMO curl: curl -s -X POST {gateway}/api/v1/leads/unsorted -H 'X-API-KEY: {leadKey}' -H 'Content-Type: application/json' -d '{lead}'
            Press Ctrl+C to stop.

            """);
    }

    private static Process StartEmulator(string dll, string url, string redirectUri)
    {
        var info = new ProcessStartInfo("dotnet", [dll, "--urls", url, "--EMULATOR_REDIRECT_URI", redirectUri])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("the emulator did not start");

        // Read, not shown: the emulator's own log lines would bury the demo's.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Console.Error.WriteLine("emulator: " + line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForEmulatorAsync(string url, Process emulator)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (emulator.HasExited)
            {
                throw new Hosting.StartupProblemException($"the amoCRM emulator stopped at start-up (exit code {emulator.ExitCode})");
            }

            try
            {
                using var answer = await http.GetAsync(url + "/api/v4/account");
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
            }
        }

        throw new Hosting.StartupProblemException("the amoCRM emulator did not answer within 30 s");
    }

    private static string? FindEmulator()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "Emulator.dll");
        if (File.Exists(beside))
        {
            return beside;
        }

        var built = typeof(DemoCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == EmulatorMetadata)?.Value;
        return built is { Length: > 0 } && File.Exists(built) ? built : null;
    }

    private static int? PortAfter(string[] args, string name) =>
        Array.IndexOf(args, name) is var at && at > 0 && at + 1 < args.Length && int.TryParse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536 ? port : null;

    // The usual port when it is free, else any.
    private static int FreePort(int preferred)
    {
        foreach (var port in new[] { preferred, 0 })
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return ((IPEndPoint)listener.LocalEndpoint).Port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free port on 127.0.0.1");
    }

    private static string Secret(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
