using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Infrastructure;

// The gateway as a real OS process on a loopback port, for what only separate processes can show.
internal sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly List<string> secrets = [];

    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process)
    {
        this.process = process;
    }

    // Where the child said it listens (Microsoft.Hosting.Lifetime's "Now listening on:" line, kept at Information
    // whatever LOG_LEVEL says).
    public Uri BaseUrl => listening.Task.IsCompletedSuccessfully ? listening.Task.Result : throw new InvalidOperationException("The gateway has not said where it listens yet");

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static async Task<GatewayProcess> StartAsync(IDictionary<string, string?> environment, string workingDirectory)
    {
        // Port 0: the kernel gives the child its port as it binds. A port picked here and freed for the child could be
        // taken by a parallel test's server first, and /health would then be answered by someone else's gateway.
        var info = StartInfo(["--urls", "http://127.0.0.1:0"], environment, workingDirectory);
        var process = Process.Start(info)!;
        var gateway = new GatewayProcess(process);
        gateway.secrets.AddRange(GatewayApp.SecretSettings.Select(name => environment.TryGetValue(name, out var value) ? value ?? "" : "").Where(v => v.Length >= 12));
        process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await gateway.WaitUntilHealthyAsync();
        return gateway;
    }

    // Where every process test gets its gateway: `dotnet Gateway.dll` of this build, or the file GATEWAY_TEST_EXECUTABLE
    // names (CI sets it to the Native AOT executable, so a path that only works with reflection cannot hide there).
    public const string ExecutableVariable = "GATEWAY_TEST_EXECUTABLE";

    // Output redirected; environment applied over the test process's own (a null value removes the variable).
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IEnumerable<KeyValuePair<string, string?>> environment, string workingDirectory)
    {
        ProcessStartInfo info;
        if (Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } executable)
        {
            // A missing file must fail the run, never quietly fall back to the JIT build.
            if (!File.Exists(executable))
            {
                throw new FileNotFoundException($"{ExecutableVariable} names {executable}, which does not exist", executable);
            }

            info = new ProcessStartInfo(Path.GetFullPath(executable), arguments);
        }
        else
        {
            info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Gateway.dll"), .. arguments]);
        }

        info.WorkingDirectory = workingDirectory;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return info;
    }

    // A data directory with the PHP gateway's tokens.json holding an emulator-issued pair, and the environment to use it.
    public static async Task<(string Dir, Dictionary<string, string?> Environment)> PrepareAsync(Emulator.AmoEmulator amo, DateTimeOffset? believedExpiry = null, IDictionary<string, string?>? extra = null)
    {
        var pair = amo.State.IssueTokens();
        var dir = Directory.CreateTempSubdirectory("gateway-process-").FullName;
        var tokens = Path.Combine(dir, "tokens.json");
        var expiresAt = (believedExpiry ?? pair.ExpiresAt).ToUnixTimeSeconds();
        await File.WriteAllTextAsync(tokens, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{expiresAt}}}""");
        var environment = new Dictionary<string, string?>
        {
            ["API_KEY"] = GatewayApp.ApiKey,
            ["DATA_DIR"] = Path.Combine(dir, "data"),
            ["TOKEN_STORAGE_PATH"] = tokens,
            ["AMO_DOMAIN"] = GatewayApp.Domain,
            ["AMO_CLIENT_ID"] = amo.Options.ClientId,
            ["AMO_CLIENT_SECRET"] = amo.Options.ClientSecret,
            ["AMO_REDIRECT_URI"] = GatewayApp.RedirectUri,
            ["AMO_BASE_URL"] = amo.BaseUrl.ToString(),
            ["AMO_RATE_LIMIT"] = "50",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in TestDatabase.SettingsFor(dir))
        {
            environment[key] = value;
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return (dir, environment);
    }

    public HttpClient CreateKeyedClient()
    {
        var client = new HttpClient { BaseAddress = BaseUrl };
        client.DefaultRequestHeaders.Add("X-API-KEY", GatewayApp.ApiKey);
        return client;
    }

    public void Kill() => process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();

        // Like every in-process test, every process's console output is checked for the secrets it was given.
        var leaked = secrets.Where(secret => Output.Contains(secret, StringComparison.Ordinal)).ToList();
        Assert.True(leaked.Count == 0, $"the gateway process printed {leaked.Count} of its secrets");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }

            if (!listening.Task.IsCompleted && ListeningOn().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        var deadline = Stopwatch.StartNew();
        // An exit is seen once its output has all been read (WaitForExitAsync waits for the redirected streams' end).
        using var gaveUp = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        await Task.WhenAny(listening.Task, process.WaitForExitAsync(gaveUp.Token), Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, gaveUp.Token));
        if (!listening.Task.IsCompleted)
        {
            throw new InvalidOperationException(process.HasExited ? $"The gateway exited with {process.ExitCode}:\n{Output}" : $"The gateway did not say where it listens:\n{Output}");
        }

        using var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(2) };
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with {process.ExitCode}:\n{Output}");
            }

            try
            {
                if ((await client.GetAsync("/health")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            // The child process starts in real time.
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }

        throw new TimeoutException($"The gateway did not become healthy:\n{Output}");
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
